/**
 * ZPL (ZeroMQ RFC 4), the property format of CURVE certificates: one `name = value` per line,
 * hierarchy by indentation of 4 spaces per level, `#` comments, values bare or in single or
 * double quotes. Read as czmq's zconfig reads it, except where RFC 4 is more lenient: a value
 * that opens a quote and never closes it is a bare value. Written as zconfig writes it.
 */

/** A property: its name, its value (undefined for a bare section name), its children. */
export interface ZplNode {
  name: string;
  value?: string;
  children: ZplNode[];
}

/** RFC 4 `name-char`: letters, digits and $ - _ @ . & + / (never first or last: a slash). */
const NAME = /^[A-Za-z0-9$\-_@.&+/]+/;
const INDENT = 4;

/** Parse ZPL text into a root node (name ''). Throws a SyntaxError naming `source` and the line. */
export function parseZpl(text: string, source = 'ZPL'): ZplNode {
  const root: ZplNode = { name: '', children: [] };
  /** The last node at each depth: path[0] is the root, path[n] the last node at level n - 1. */
  const path: ZplNode[] = [root];
  const lines = text.split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    const fail = (why: string): never => {
      throw new SyntaxError(`${source}:${i + 1}: ${why}: ${JSON.stringify(raw)}`);
    };
    const body = line.replace(/^ */, '');
    if (body === '' || body.startsWith('#')) return; // blank or comment
    const spaces = line.length - body.length;
    if (spaces % INDENT !== 0) fail(`indentation of ${spaces} spaces is not a multiple of ${INDENT}`);
    const level = spaces / INDENT;
    if (level >= path.length) fail('indented deeper than its parent allows');
    const name = NAME.exec(body)?.[0];
    if (name === undefined) fail('a property name must come first');
    const n = name as string;
    if (n.startsWith('/') || n.endsWith('/')) fail("'/' cannot start or end a name");
    const value = parseValue(body.slice(n.length), fail);
    const node: ZplNode = value === undefined ? { name: n, children: [] } : { name: n, value, children: [] };
    path[level].children.push(node);
    path.length = level + 1;
    path.push(node);
  });
  return root;
}

/** What follows a name: nothing (or a comment), or `= value`. */
function parseValue(rest: string, fail: (why: string) => never): string | undefined {
  const after = rest.trimStart();
  if (after === '' || after.startsWith('#')) return undefined;
  if (!after.startsWith('=')) return fail("expected '=' after the name");
  const value = after.slice(1).trimStart();
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    const end = value.indexOf(quote, 1);
    if (end > 0) {
      const tail = value.slice(end + 1).trimStart();
      if (tail !== '' && !tail.startsWith('#')) fail('text after the closing quote');
      return value.slice(1, end);
    }
    // RFC 4: "A value that starts with a quote and does not end in a matching quote is treated as unquoted."
  }
  const comment = value.indexOf('#');
  return (comment < 0 ? value : value.slice(0, comment)).trimEnd();
}

/** The value at `path` ('curve/public-key'), or undefined. */
export function zplGet(root: ZplNode, path: string): string | undefined {
  return zplLocate(root, path)?.value;
}

/** The node at `path`, or undefined. */
export function zplLocate(root: ZplNode, path: string): ZplNode | undefined {
  let node: ZplNode | undefined = root;
  for (const name of path.split('/')) node = node?.children.find((c) => c.name === name);
  return node;
}

/**
 * ZPL text for `root`'s children, after `comments` (each written as `#` + the line, then a blank
 * line). Values are always quoted, in double quotes unless they hold one; a value holding both
 * kinds of quote, or a line break, cannot be written (RFC 4 has no escapes) and throws.
 */
export function formatZpl(root: ZplNode, comments: string[] = []): string {
  const out: string[] = comments.map((c) => `#${c}\n`);
  if (comments.length > 0) out.push('\n');
  const write = (node: ZplNode, level: number): void => {
    if (NAME.exec(node.name)?.[0] !== node.name || node.name.startsWith('/') || node.name.endsWith('/'))
      throw new RangeError(`invalid ZPL name ${JSON.stringify(node.name)}`);
    const indent = ' '.repeat(level * INDENT);
    out.push(node.value === undefined ? `${indent}${node.name}\n` : `${indent}${node.name} = ${quoted(node)}\n`);
    for (const child of node.children) write(child, level + 1);
  };
  for (const child of root.children) write(child, 0);
  return out.join('');
}

function quoted(node: ZplNode): string {
  const value = node.value as string;
  if (/[\r\n]/.test(value)) throw new RangeError(`ZPL value of ${node.name} has a line break`);
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  throw new RangeError(`ZPL value of ${node.name} holds both kinds of quote`);
}
