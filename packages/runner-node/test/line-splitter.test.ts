import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../src/line-splitter.js';

function split(chunks: (string | Buffer)[], max?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), max);
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('ends lines at LF, CRLF and a lone CR, and keeps a last line without a break', () => {
    expect(split(['a\nb\r\nc\rd'])).toEqual(['a', 'b', 'c', 'd']);
    expect(split(['\n\n'])).toEqual(['', '']);
  });

  it('joins partial lines across chunks, including a CRLF cut between CR and LF', () => {
    expect(split(['par', 'tial\r', '\nnext\r', 'x'])).toEqual(['partial', 'next', 'x']);
  });

  it('keeps a multi-byte character cut across chunks and replaces invalid UTF-8 with U+FFFD', () => {
    const euro = Buffer.from('€\n');
    expect(split([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)])).toEqual(['€']);
    expect(split([Buffer.from([0x66, 0xff, 0xfe, 0x6f, 0x0a])])).toEqual(['f\uFFFD\uFFFDo']);
  });

  it('cuts a long line into pieces of maxLineLength, with or without a line break', () => {
    expect(split(['abcdefgh\n'], 3)).toEqual(['abc', 'def', 'gh']);
    expect(split(['abcd', 'efgh'], 3)).toEqual(['abc', 'def', 'gh']);
    expect(split(['abc\n'], 3)).toEqual(['abc']);
  });

  it('gives the same lines however the bytes are chunked, whatever the length cap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom('\n', '\r', '\r\n', 'é', '€', 'a', 'bc', '\u{1F600}')), {
          maxLength: 40,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer({ min: 1, max: 6 }),
        (parts, cuts, max) => {
          const bytes = Buffer.from(parts.join(''));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let last = 0;
          for (const p of points) {
            chunks.push(bytes.subarray(last, p));
            last = p;
          }
          chunks.push(bytes.subarray(last));
          expect(split(chunks, max)).toEqual(split([bytes], max));
          expect(split(chunks)).toEqual(split([bytes]));
        },
      ),
    );
  });
});
