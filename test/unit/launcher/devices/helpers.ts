// Shared expectations for device tests: a thrown ValidationError with this path and code.
import { expect } from 'vitest';
import { ValidationError } from '../../../../core/index.js';

export function expectValidation(run: () => unknown, path: string, code: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect(caught).toMatchObject({ path, code });
}
