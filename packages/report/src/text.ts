import { formatSig3 } from '@llem/core/results';

/** Escaping for the two page formats, and the one number format of the report. */

/** Escapes text for HTML/SVG text and attribute values. Everything user-supplied goes through this. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * Escapes text for a Markdown table cell or paragraph: Markdown punctuation gets a backslash, HTML
 * special characters become entities (a renderer never sees a tag), a line break becomes a space.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]|~]/g, (ch) => `\\${ch}`)
    .replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Three significant digits, `-` for no value. */
export const fmt = formatSig3;
