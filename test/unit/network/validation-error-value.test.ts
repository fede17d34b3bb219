import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import { parseEndpoint } from '../../../network/endpoints/parse.js';
import { parseEntry } from '../../../network/journal/entry.js';

// Found by the record fuzz suites: describing the offending value with String() threw a
// TypeError for a parsed JSON object whose `toString` is not a function, so a bad field in a
// record, journal entry or endpoint escaped as an untyped exception.
describe('ValidationError of a hostile value', () => {
  const hostile = JSON.parse('{"toString":null,"valueOf":1}') as unknown;

  it('describes an object without conversion hooks', () => {
    const error = new ValidationError('field', hostile, 'bad');
    expect(error.message).toBe('field: bad (got {"toString":null,"valueOf":1})');
    expect(new ValidationError('field', [hostile], 'bad').message).toContain('[{"toString":null');
  });

  it('parseEndpoint and parseEntry reject such a value with a ValidationError', () => {
    expect(() => parseEndpoint({ kind: 'tap', name: hostile })).toThrow(ValidationError);
    expect(() => parseEntry('{"version":1,"kind":{"toString":0}}')).toThrow(ValidationError);
  });
});
