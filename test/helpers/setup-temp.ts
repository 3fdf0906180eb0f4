// Set up for every test file: the temporary folders it made (tempDir) go when it ends.
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp';

afterAll(removeTempDirs);
