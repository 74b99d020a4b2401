#!/usr/bin/env python3
"""test-qapi-gen.py: scripts/qapi-gen.py on the real schema and on broken
ones: output is deterministic, introspection data is valid JSON that
covers every command, and schema mistakes are reported, not emitted."""

import filecmp
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
GEN = os.path.join(ROOT, 'scripts', 'qapi-gen.py')
SCHEMA = os.path.join(ROOT, 'qapi', 'schema.json')
MODULES = ['control', 'misc', 'crypto', 'objects', 'job',
           'block-core', 'block-export']


def gen(outdir, module, schema=SCHEMA):
    sel = ['--init'] if module is None else ['-m', module]
    return subprocess.run([sys.executable, GEN, '-o', outdir] + sel +
                          [schema], capture_output=True, text=True)


class GeneratorTest(unittest.TestCase):
    def test_deterministic(self):
        with tempfile.TemporaryDirectory() as a, \
                tempfile.TemporaryDirectory() as b:
            for m in MODULES + [None]:
                self.assertEqual(gen(a, m).returncode, 0)
                self.assertEqual(gen(b, m).returncode, 0)
            names = sorted(os.listdir(a))
            self.assertEqual(names, sorted(os.listdir(b)))
            self.assertEqual(len(names), 2 + 4 * len(MODULES))
            match, mismatch, errors = filecmp.cmpfiles(a, b, names,
                                                       shallow=False)
            self.assertEqual((mismatch, errors), ([], []))
            for n in names:
                self.assertTrue(n.startswith('lb-qapi-'), n)

    def test_introspection(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(gen(d, None).returncode, 0)
            with open(os.path.join(d, 'lb-qapi-init.c')) as f:
                c = f.read()
            body = c.split('lb_qapi_introspection[] =', 1)[1]
            parts = re.findall(r'^    "((?:[^"\\]|\\.)*)"$', body, re.M)
            text = ''.join(parts).replace('\\"', '"').replace('\\\\', '\\')
            info = json.loads(text)
            by_name = {e['name']: e for e in info}
            for e in info:
                for key in ('arg-type', 'ret-type', 'element-type'):
                    if key in e:
                        self.assertIn(e[key], by_name, (e['name'], key))
            cmds = {e['name'] for e in info if e['meta-type'] == 'command'}
            self.assertIn('blockdev-add', cmds)
            self.assertIn('query-qmp-schema', cmds)
            self.assertEqual(by_name['quit']['arg-type'], 'q_empty')

    def test_schema_errors(self):
        cases = [
            ("{ 'struct': 'A', 'data': { 'x': 'Nope' } }", 'unknown type Nope'),
            ("{ 'enum': 'E', 'data': ['a'] }\n{ 'enum': 'E', 'data': ['b'] }",
             'duplicate definition of E'),
            ("{ 'struct': 'A', 'data': { 'x': 'str' }", 'expected'),
            ("{ 'struct': 'A', 'data': { 'x': 'str\n' } }",
             'unterminated string'),
            ("{ 'command': 'c', 'data': { 'a': ['T'] } }", 'unknown type T'),
            ("# just a comment\n{ 'frob': 'x' }", 'bad expression'),
        ]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'bad.json')
            for text, msg in cases:
                with self.subTest(text=text):
                    with open(path, 'w') as f:
                        f.write(text)
                    r = gen(d, 'bad', path)
                    self.assertNotEqual(r.returncode, 0)
                    self.assertIn(msg, r.stderr)

    def test_small_schema(self):
        text = """
# comment
{ 'enum': 'Color', 'data': [ 'red', { 'name': 'dark-blue' } ] }
{ 'struct': 'Base', 'data': { 'kind': 'Color' } }
{ 'union': 'U', 'base': 'Base', 'discriminator': 'kind',
  'data': { 'red': 'Red' } }
{ 'struct': 'Red', 'data': { '*shade': 'int8', 'list': [ 'str' ] } }
{ 'command': 'paint', 'data': { 'what': 'U', '*times': 'uint32',
                                'name': 'str' },
  'returns': 'str' }
"""
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'mini.json')
            with open(path, 'w') as f:
                f.write(text)
            for m in ('mini', None):
                r = gen(d, m, path)
                self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, 'lb-qapi-init.c')) as f:
                self.assertIn('lb_qapi_commands_mini,', f.read())
            with open(os.path.join(d, 'lb-qapi-types-mini.h')) as f:
                h = f.read()
            self.assertIn('LB_QAPI_COLOR_DARK_BLUE', h)
            with open(os.path.join(d, 'lb-qapi-commands-mini.h')) as f:
                h = f.read()
            self.assertIn('typedef struct LbQmpPaintArgs', h)
            self.assertIn('bool has_times;', h)
            self.assertIn('uint64_t times;', h)
            self.assertIn('JsonNode *what;', h)
            with open(os.path.join(d, 'lb-qapi-types-mini.c')) as f:
                c = f.read()
            self.assertIn('.tag = "kind"', c)
            self.assertIn('.name = "[str]"', c)


if __name__ == '__main__':
    unittest.main(verbosity=2)
