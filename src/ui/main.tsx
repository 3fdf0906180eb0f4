// Entry point of the page.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './app.css';
import { syncLink } from './link/sync';
import { useStore } from './store';
import { rememberLoadedWeights } from './store/weights-memo';

syncLink(); // the link sets the next run before the first render
rememberLoadedWeights(); // a reload drops the loaded weights: say which
void useStore.getState().refreshSaved(true); // what this browser kept, and what was interrupted

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
