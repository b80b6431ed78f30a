/**
 * lib/bus/zpl.ts: ZeroMQ RFC 4's example, its quoting and comment rules, every line ending,
 * errors that name the line, and parse(format(tree)) = tree for random trees.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatZpl, parseZpl, zplGet, type ZplNode } from '../../lib/bus/zpl';

const RFC_EXAMPLE = `#   ZPL configuration file example
#   This format is designed to be trivial to write and parse
#
context
    iothreads = 1
    verbose = 1      #   Ask for a trace
main
    type = zmq_queue
    frontend
        option
            hwm = 1000
            swap = 25000000
            subscribe = "#2"
        bind = tcp://eth0:5555
    backend
        bind = tcp://eth0:5556
`;

test("RFC 4's example: hierarchy, trailing comments, a quoted '#'", () => {
  const root = parseZpl(RFC_EXAMPLE);
  assert.deepEqual(
    root.children.map((c) => c.name),
    ['context', 'main'],
  );
  assert.equal(zplGet(root, 'context/iothreads'), '1');
  assert.equal(zplGet(root, 'context/verbose'), '1');
  assert.equal(zplGet(root, 'main/type'), 'zmq_queue');
  assert.equal(zplGet(root, 'main/frontend/option/subscribe'), '#2');
  assert.equal(zplGet(root, 'main/frontend/option/swap'), '25000000');
  assert.equal(zplGet(root, 'main/frontend/bind'), 'tcp://eth0:5555');
  assert.equal(zplGet(root, 'main/backend/bind'), 'tcp://eth0:5556');
  assert.equal(zplGet(root, 'main/frontend'), undefined, 'a section has no value');
  assert.equal(zplGet(root, 'main/nothing'), undefined);
});

test('values: bare, double- or single-quoted, empty, an unclosed quote kept as is; every line ending', () => {
  const text = [
    'a',
    '    bare = echo,Auth  ',
    '    double = "with # and \'"  # comment',
    "    single = 'with \"'",
    '    empty =',
    '    quoted-empty = ""',
    '    unclosed = "half',
    '    spaced = "  kept  "',
    '    star = *',
  ];
  for (const eol of ['\n', '\r\n', '\r']) {
    const root = parseZpl(text.join(eol));
    assert.equal(zplGet(root, 'a/bare'), 'echo,Auth');
    assert.equal(zplGet(root, 'a/double'), "with # and '");
    assert.equal(zplGet(root, 'a/single'), 'with "');
    assert.equal(zplGet(root, 'a/empty'), '');
    assert.equal(zplGet(root, 'a/quoted-empty'), '');
    assert.equal(zplGet(root, 'a/unclosed'), '"half');
    assert.equal(zplGet(root, 'a/spaced'), '  kept  ');
    assert.equal(zplGet(root, 'a/star'), '*');
  }
});

test('syntax errors are SyntaxErrors naming the source and line', () => {
  const cases: Array<[string, RegExp]> = [
    ['a\n   b = 1', /f\.zpl:2: indentation of 3 spaces is not a multiple of 4/],
    ['a\n        b = 1', /f\.zpl:2: indented deeper than its parent allows/],
    ['    a = 1', /f\.zpl:1: indented deeper/],
    ['a = "x" y', /f\.zpl:1: text after the closing quote/],
    ['= 1', /f\.zpl:1: a property name must come first/],
    ['\tb = 1', /f\.zpl:1: a property name must come first/],
    ['a b', /f\.zpl:1: expected '=' after the name/],
    ['/a = 1', /f\.zpl:1: '\/' cannot start or end a name/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseZpl(text, 'f.zpl'), { name: 'SyntaxError', message }, text);
  }
});

test('parse(format(tree)) is the tree', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9$\-_@.&+][A-Za-z0-9$\-_@.&+/]{0,10}[A-Za-z0-9$\-_@.&+]$/);
  // Printable values without line breaks and without both kinds of quote.
  const value = fc
    .string({ unit: fc.constantFrom(...'ab #=*,.\'" \\'.split('')), maxLength: 20 })
    .filter((v) => !(v.includes('"') && v.includes("'")));
  const level = (child: fc.Arbitrary<ZplNode>): fc.Arbitrary<ZplNode> =>
    fc.record({ name, value: fc.option(value, { nil: undefined }), children: fc.array(child, { maxLength: 3 }) });
  const node = level(
    level(level(fc.constant<ZplNode[]>([]).chain(() => fc.record({ name, children: fc.constant([]) })))),
  );
  fc.assert(
    fc.property(fc.array(node, { maxLength: 4 }), (children) => {
      const root: ZplNode = { name: '', children };
      const strip = (n: ZplNode): ZplNode =>
        n.value === undefined
          ? { name: n.name, children: n.children.map(strip) }
          : { ...n, children: n.children.map(strip) };
      assert.deepEqual(parseZpl(formatZpl(root, [' a comment'])), strip(root));
    }),
  );
});

test('values that ZPL cannot hold, and bad names, are refused when writing', () => {
  const one = (n: ZplNode): ZplNode => ({ name: '', children: [n] });
  assert.throws(() => formatZpl(one({ name: 'a', value: 'x\ny', children: [] })), /line break/);
  assert.throws(() => formatZpl(one({ name: 'a', value: `"'`, children: [] })), /both kinds of quote/);
  assert.throws(() => formatZpl(one({ name: 'a b', children: [] })), /invalid ZPL name/);
  assert.throws(() => formatZpl(one({ name: 'a/', children: [] })), /invalid ZPL name/);
});
