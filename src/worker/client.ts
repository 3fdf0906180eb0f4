// The page's handle on the training worker: spawn it, send typed commands, pass its
// events on, and after a crash say so (`crashed`) and spawn a fresh worker with the
// next command (the page keeps what it has drawn).
import type { BackendChoice } from '../engine/backend';
import type { ClientEvent, Command } from './protocol';

export class WorkerClient {
  private worker: Worker | null = null;

  constructor(
    private readonly onEvent: (e: ClientEvent) => void,
    private backend: BackendChoice = 'auto',
  ) {}

  private spawn(): Worker {
    const w = new Worker(new URL('./train.worker.ts', import.meta.url), { type: 'module' });
    w.onmessage = (msg: MessageEvent<ClientEvent>) => this.onEvent(msg.data);
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      if (this.worker === w) this.worker = null; // the next command spawns a fresh one
      this.onEvent({ type: 'crashed', message: e.message || 'no message' });
    };
    w.postMessage({ type: 'init', backend: this.backend } satisfies Command);
    return w;
  }

  send(cmd: Command, transfer: Transferable[] = []): void {
    this.worker ??= this.spawn();
    this.worker.postMessage(cmd, transfer);
  }

  /** A backend is chosen once per worker: a new choice means a new worker. */
  setBackend(choice: BackendChoice): void {
    if (choice === this.backend) return;
    this.backend = choice;
    this.worker?.terminate();
    this.worker = null;
  }
}
