#!/usr/bin/env python3
"""qapi-gen.py: turn luksblk's QAPI schema (qapi/*.json) into C.

The schema dialect is QEMU's: JSON-like expressions with single-quoted
strings and '#' comments, one top-level expression per definition:
include, pragma, enum, struct, union (flat, with 'base' and
'discriminator'), alternate, command and event.  Type references are a
name, a builtin (str, int, intN, uintN, size, number, bool, null, any) or
a one-element list for an array.

Outputs (all in the output directory, deterministic):
  for each module M (-m M):
    lb-qapi-types-M.h/.c     enums with their string tables, and a type
                             descriptor (LbQapiType) per type; the
                             monitor's validator (qmp/qapi-visit.c) walks
                             these to check arguments with QEMU's messages
    lb-qapi-commands-M.h/.c  per command: a C argument struct, the handler
                             prototype, a marshaller that fills the struct
                             from validated JSON, and the module's table
  with --init:
    lb-qapi-init.h/.c        all command tables and the query-qmp-schema
                             introspection data (JSON text)

Usage: qapi-gen.py -o OUTDIR (-m MODULE | --init) qapi/schema.json
"""

import argparse
import json
import os
import re
import sys

BUILTINS = {
    # name: (runtime builtin enum, json-type, C type)
    'str': ('STR', 'string', 'const char *'),
    'int': ('INT', 'int', 'int64_t'),
    'int8': ('INT8', 'int', 'int64_t'),
    'int16': ('INT16', 'int', 'int64_t'),
    'int32': ('INT32', 'int', 'int64_t'),
    'int64': ('INT64', 'int', 'int64_t'),
    'uint8': ('UINT8', 'int', 'uint64_t'),
    'uint16': ('UINT16', 'int', 'uint64_t'),
    'uint32': ('UINT32', 'int', 'uint64_t'),
    'uint64': ('UINT64', 'int', 'uint64_t'),
    'size': ('SIZE', 'int', 'uint64_t'),
    'number': ('NUMBER', 'number', 'double'),
    'bool': ('BOOL', 'boolean', 'bool'),
    'null': ('NULL', 'null', 'JsonNode *'),
    'any': ('ANY', 'value', 'JsonNode *'),
}


class SchemaError(Exception):
    pass


# ---- parsing ---------------------------------------------------------------

def tokenize(text, fname):
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == '\n':
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == '#':
            while i < n and text[i] != '\n':
                i += 1
        elif c in '{}[]:,':
            yield c, c, line
            i += 1
        elif c in '\'"':
            j = text.find(c, i + 1)
            if j < 0 or '\n' in text[i:j]:
                raise SchemaError('%s:%d: unterminated string' % (fname, line))
            yield 'str', text[i + 1:j], line
            i = j + 1
        elif text.startswith('true', i):
            yield 'val', True, line
            i += 4
        elif text.startswith('false', i):
            yield 'val', False, line
            i += 5
        else:
            raise SchemaError('%s:%d: stray %r' % (fname, line, c))


def parse_file(fname):
    with open(fname, encoding='utf-8') as f:
        toks = list(tokenize(f.read(), fname))
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else (None, None, 0)

    def take(kind=None):
        t = peek()
        if t[0] is None or (kind and t[0] != kind):
            raise SchemaError('%s:%d: expected %s' % (fname, t[2], kind))
        pos[0] += 1
        return t

    def value():
        kind, val, line = take()
        if kind in ('str', 'val'):
            return val
        if kind == '[':
            out = []
            while peek()[0] != ']':
                out.append(value())
                if peek()[0] == ',':
                    take(',')
            take(']')
            return out
        if kind == '{':
            out = {}
            while peek()[0] != '}':
                key = take('str')[1]
                if key in out:
                    raise SchemaError('%s:%d: duplicate key %s'
                                      % (fname, line, key))
                take(':')
                out[key] = value()
                if peek()[0] == ',':
                    take(',')
            take('}')
            return out
        raise SchemaError('%s:%d: unexpected %r' % (fname, line, val))

    exprs = []
    while peek()[0] is not None:
        line = peek()[2]
        e = value()
        if not isinstance(e, dict):
            raise SchemaError('%s:%d: expected an expression' % (fname, line))
        exprs.append(e)
    return exprs


class Member(tuple):
    """(name, type, optional), plus the member's 'features'."""
    features = ()


class Entity:
    def __init__(self, meta, name, expr, module):
        self.meta, self.name, self.expr, self.module = meta, name, expr, module
        self.members = []          # [(name, typeref, optional)]
        self.tag = None
        self.variants = []         # [(value, typename)]
        self.values = []


def module_name(path):
    return os.path.splitext(os.path.basename(path))[0]


class Schema:
    def __init__(self, top):
        self.entities = {}
        self.order = []
        self.modules = []
        self._load(os.path.abspath(top), set())
        for ent in self.order:
            self._resolve(ent)

    def _load(self, path, seen):
        if path in seen:
            return
        seen.add(path)
        mod = module_name(path)
        self.modules.append(mod)
        for e in parse_file(path):
            if 'include' in e:
                self._load(os.path.join(os.path.dirname(path), e['include']),
                           seen)
            elif 'pragma' in e:
                continue
            else:
                metas = [m for m in ('enum', 'struct', 'union', 'alternate',
                                     'command', 'event') if m in e]
                if len(metas) != 1:
                    raise SchemaError('%s: bad expression %r' % (path, e))
                self._add(Entity(metas[0], e[metas[0]], e, mod))

    def _add(self, ent):
        if ent.name in self.entities or ent.name in BUILTINS:
            raise SchemaError('duplicate definition of %s' % ent.name)
        self.entities[ent.name] = ent
        self.order.append(ent)

    @staticmethod
    def _members(data):
        out = []
        for key, val in data.items():
            feats = []
            if isinstance(val, dict):
                feats = [f['name'] if isinstance(f, dict) else f
                         for f in val.get('features', [])]
                val = val['type']
            opt = key.startswith('*')
            m = Member((key[1:] if opt else key, val, opt))
            m.features = feats
            out.append(m)
        return out

    def _implicit(self, name, data, module):
        ent = Entity('struct', name, {'struct': name, 'data': data}, module)
        ent.implicit = True
        self._add(ent)
        self._resolve(ent)
        return name

    def _resolve(self, ent):
        if getattr(ent, 'resolved', False):
            return
        ent.resolved = True
        e = ent.expr
        if ent.meta == 'enum':
            ent.values = [v['name'] if isinstance(v, dict) else v
                          for v in e['data']]
        elif ent.meta in ('struct', 'union'):
            base = e.get('base')
            if isinstance(base, dict):
                base = self._implicit('q_obj_%s-base' % ent.name, base,
                                      ent.module)
            if base:
                b = self.entities[base]
                self._resolve(b)
                ent.members.extend(b.members)
            if ent.meta == 'struct':
                ent.members.extend(self._members(e.get('data', {})))
            else:
                ent.tag = e['discriminator']
                for val, br in e['data'].items():
                    ent.variants.append(
                        (val, br['type'] if isinstance(br, dict) else br))
        elif ent.meta == 'alternate':
            for key, val in e['data'].items():
                ent.members.append(
                    (key, val['type'] if isinstance(val, dict) else val,
                     False))
        elif ent.meta in ('command', 'event'):
            data = e.get('data')
            if isinstance(data, dict):
                ent.arg_type = self._implicit('q_obj_%s-arg' % ent.name,
                                              data, ent.module)
            else:
                ent.arg_type = data
            ent.ret_type = e.get('returns')
            ent.boxed = e.get('boxed', False)
        self._check_refs(ent)

    def _check_refs(self, ent):
        refs = [t for _, t, _ in ent.members] + [t for _, t in ent.variants]
        for r in refs:
            self.check_type(r, ent.name)

    def check_type(self, ref, where):
        if isinstance(ref, list):
            return self.check_type(ref[0], where)
        if ref not in BUILTINS and ref not in self.entities:
            raise SchemaError('%s: unknown type %s' % (where, ref))

    def lookup(self, ref):
        return None if ref in BUILTINS else self.entities[ref]


# ---- names -----------------------------------------------------------------

def c_name(name):
    return re.sub(r'[^A-Za-z0-9_]', '_', name)


def camel_to_upper(name):
    out = ''
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0:
            prev, nxt = name[i - 1], name[i + 1:i + 2]
            if prev.islower() or prev.isdigit() or \
               (prev.isupper() and nxt.islower()):
                out += '_'
        out += ch
    return c_name(out).upper()


def camel_case(name):
    return ''.join(p[:1].upper() + p[1:] for p in re.split(r'[-_.]', name))


def type_sym(ref):
    if isinstance(ref, list):
        return 'lb_qapi_array_' + c_name(ref[0])
    return 'lb_qapi_type_' + c_name(ref)


def enum_ctype(name):
    return 'LbQapi' + name


def c_string(s):
    return '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')


# ---- C output ----------------------------------------------------------------

HEADER = '/* Generated by scripts/qapi-gen.py from qapi/%s.json: do not edit. */\n'


class ModuleGen:
    def __init__(self, schema, module):
        self.s = schema
        self.mod = module
        self.ents = [e for e in schema.order if e.module == module]
        self.arrays = []

    def _note_array(self, ref):
        if isinstance(ref, list) and ref[0] not in self.arrays:
            self.arrays.append(ref[0])

    def _deps(self):
        mods = set()
        for ent in self.ents:
            refs = [t for _, t, _ in ent.members] + \
                [t for _, t in ent.variants]
            for a in ('arg_type', 'ret_type'):
                if getattr(ent, a, None):
                    refs.append(getattr(ent, a))
            for r in refs:
                r = r[0] if isinstance(r, list) else r
                if r not in BUILTINS:
                    mods.add(self.s.entities[r].module)
        mods.discard(self.mod)
        return sorted(mods)

    def types_h(self):
        guard = 'LB_QAPI_TYPES_%s_H' % c_name(self.mod).upper()
        out = [HEADER % self.mod, '#ifndef %s\n#define %s\n\n' % (guard, guard),
               '#include "qapi-visit.h"\n\n']
        for ent in self.ents:
            if ent.meta == 'enum':
                pre = camel_to_upper(ent.name)
                out.append('typedef enum %s {\n' % enum_ctype(ent.name))
                for v in ent.values:
                    out.append('    LB_QAPI_%s_%s,\n' % (pre, c_name(v).upper()))
                out.append('    LB_QAPI_%s__MAX,\n} %s;\n'
                           % (pre, enum_ctype(ent.name)))
                out.append('extern const char *const lb_qapi_%s_str[];\n\n'
                           % c_name(ent.name))
        for ent in self.ents:
            if ent.meta in ('enum', 'struct', 'union', 'alternate'):
                out.append('extern const LbQapiType %s;\n' % type_sym(ent.name))
        out.append('\n#endif\n')
        return ''.join(out)

    def _members_c(self, sym, members):
        for _, t, _ in members:
            self._note_array(t)
        rows = ['    { %s, &%s, %s },\n' % (c_string(n), type_sym(t),
                                            'true' if o else 'false')
                for n, t, o in members]
        return 'static const LbQapiMember %s[] = {\n%s};\n' % (
            sym, ''.join(rows) or '    { NULL, NULL, false },\n')

    def types_c(self):
        out = [HEADER % self.mod, '#include "config.h"\n',
               '#include "lb-qapi-types-%s.h"\n' % self.mod]
        for d in self._deps():
            out.append('#include "lb-qapi-types-%s.h"\n' % d)
        out.append('\n')
        body = []
        for ent in self.ents:
            cn = c_name(ent.name)
            if ent.meta == 'enum':
                body.append('const char *const lb_qapi_%s_str[] = {\n%s'
                            '    NULL,\n};\n' % (cn, ''.join(
                                '    %s,\n' % c_string(v) for v in ent.values)))
                body.append('const LbQapiType %s = {\n    .name = %s,\n'
                            '    .kind = LB_QAPI_KIND_ENUM,\n'
                            '    .values = lb_qapi_%s_str,\n'
                            '    .n_values = %d,\n};\n\n'
                            % (type_sym(ent.name), c_string(ent.name), cn,
                               len(ent.values)))
            elif ent.meta in ('struct', 'union'):
                body.append(self._members_c('members_%s' % cn, ent.members))
                var = ''
                if ent.variants:
                    body.append('static const LbQapiVariant variants_%s[] = {\n%s};\n'
                                % (cn, ''.join('    { %s, &%s },\n'
                                               % (c_string(v), type_sym(t))
                                               for v, t in ent.variants)))
                    var = ('    .tag = %s,\n    .variants = variants_%s,\n'
                           '    .n_variants = %d,\n'
                           % (c_string(ent.tag), cn, len(ent.variants)))
                body.append('const LbQapiType %s = {\n    .name = %s,\n'
                            '    .kind = LB_QAPI_KIND_OBJECT,\n'
                            '    .members = members_%s,\n    .n_members = %d,\n'
                            '%s};\n\n' % (type_sym(ent.name), c_string(ent.name),
                                          cn, len(ent.members), var))
            elif ent.meta == 'alternate':
                for _, t, _ in ent.members:
                    self._note_array(t)
                body.append('static const LbQapiType *const alts_%s[] = {\n%s};\n'
                            % (cn, ''.join('    &%s,\n' % type_sym(t)
                                           for _, t, _ in ent.members)))
                body.append('const LbQapiType %s = {\n    .name = %s,\n'
                            '    .kind = LB_QAPI_KIND_ALTERNATE,\n'
                            '    .alternatives = alts_%s,\n'
                            '    .n_alternatives = %d,\n};\n\n'
                            % (type_sym(ent.name), c_string(ent.name), cn,
                               len(ent.members)))
        arrays = []
        for el in self.arrays:
            arrays.append('static const LbQapiType %s = {\n    .name = "[%s]",\n'
                          '    .kind = LB_QAPI_KIND_ARRAY,\n'
                          '    .element = &%s,\n};\n' % (type_sym([el]), el,
                                                         type_sym(el)))
        # Arrays are static: declare them before the members that use them.
        decl = ''.join('static const LbQapiType %s;\n' % type_sym([el])
                       for el in self.arrays)
        out.append(decl + ('\n' if decl else ''))
        out.extend(body)
        out.extend(arrays)
        return ''.join(out)

    def _commands(self):
        return [e for e in self.ents if e.meta == 'command']

    def _arg_members(self, cmd):
        if not cmd.arg_type or cmd.boxed:
            return None
        return self.s.entities[cmd.arg_type].members

    def _ctype(self, t):
        if isinstance(t, list):
            return 'JsonNode *'
        if t in BUILTINS:
            return BUILTINS[t][2]
        ent = self.s.entities[t]
        if ent.meta == 'enum':
            return enum_ctype(t)
        return 'JsonNode *'

    def _proto(self, cmd):
        fn = 'lb_qmp_' + c_name(cmd.name)
        if cmd.boxed:
            return 'bool %s(JsonObject *args, JsonNode **ret, GError **errp)' % fn
        if cmd.arg_type:
            return ('bool %s(const LbQmp%sArgs *args, JsonNode **ret,\n'
                    '    GError **errp)' % (fn, camel_case(cmd.name)))
        return 'bool %s(JsonNode **ret, GError **errp)' % fn

    def commands_h(self):
        guard = 'LB_QAPI_COMMANDS_%s_H' % c_name(self.mod).upper()
        out = [HEADER % self.mod, '#ifndef %s\n#define %s\n\n' % (guard, guard),
               '#include "lb-qapi-types-%s.h"\n' % self.mod]
        for d in self._deps():
            out.append('#include "lb-qapi-types-%s.h"\n' % d)
        out.append('\n')
        for cmd in self._commands():
            members = self._arg_members(cmd)
            if members is not None:
                out.append('typedef struct LbQmp%sArgs {\n' % camel_case(cmd.name))
                for n, t, o in members:
                    if o:
                        out.append('    bool has_%s;\n' % c_name(n))
                    out.append(('    %s %s;\n' % (self._ctype(t), c_name(n)))
                               .replace('* ', '*'))
                out.append('} LbQmp%sArgs;\n' % camel_case(cmd.name))
            out.append('%s;\n\n' % self._proto(cmd))
        out.append('extern const LbQmpCommand lb_qapi_commands_%s[];\n\n#endif\n'
                   % c_name(self.mod))
        return ''.join(out)

    def _unpack(self, n, t, o):
        f = c_name(n)
        key = c_string(n)
        if isinstance(t, list) or self._ctype(t) == 'JsonNode *':
            getter = 'json_object_get_member(args, %s)' % key
        elif t == 'str':
            getter = 'json_object_get_string_member(args, %s)' % key
        elif t == 'bool':
            getter = 'json_object_get_boolean_member(args, %s)' % key
        elif t == 'number':
            getter = 'json_node_get_double(json_object_get_member(args, %s))' % key
        elif t in BUILTINS:
            getter = '(%sjson_object_get_int_member(args, %s)' % (
                '(uint64_t)' if BUILTINS[t][2] == 'uint64_t' else '(int64_t)', key) + ')'
        else:
            getter = 'lb_qapi_enum_value(&%s, json_object_get_string_member(args, %s))' \
                % (type_sym(t), key)
        line = '    a.%s = %s;\n' % (f, getter)
        if o:
            return ('    a.has_%s = json_object_has_member(args, %s);\n'
                    '    if (a.has_%s) {\n    %s    }\n' % (f, key, f, line))
        return line

    def commands_c(self):
        out = [HEADER % self.mod, '#include "config.h"\n',
               '#include "lb-qapi-commands-%s.h"\n\n' % self.mod]
        rows = []
        for cmd in self._commands():
            cn = c_name(cmd.name)
            out.append('static bool marshal_%s(JsonObject *args, JsonNode **ret,\n'
                       '                         GError **errp)\n{\n' % cn)
            members = self._arg_members(cmd)
            if cmd.boxed:
                out.append('    return lb_qmp_%s(args, ret, errp);\n}\n\n' % cn)
            elif members is not None:
                out.append('    LbQmp%sArgs a = { 0 };\n\n' % camel_case(cmd.name))
                for m in members:
                    out.append(self._unpack(*m))
                out.append('    return lb_qmp_%s(&a, ret, errp);\n}\n\n' % cn)
            else:
                out.append('    (void)args;\n    return lb_qmp_%s(ret, errp);\n}\n\n'
                           % cn)
            arg = ('&' + type_sym(cmd.arg_type)) if cmd.arg_type else 'NULL'
            rows.append('    { %s, %s, marshal_%s, %s },\n' % (
                c_string(cmd.name), arg, cn,
                'true' if cmd.expr.get('allow-preconfig') else 'false'))
        out.append('const LbQmpCommand lb_qapi_commands_%s[] = {\n%s'
                   '    { NULL, NULL, NULL, false },\n};\n' % (c_name(self.mod),
                                                                ''.join(rows)))
        return ''.join(out)


def introspect(schema):
    """SchemaInfo list as QEMU's introspect.py builds it (names unmasked)."""
    out, seen = [], set()
    queue = []

    def ref(t):
        if isinstance(t, list):
            name = '[%s]' % (t[0] if not isinstance(t[0], list) else t[0])
            if name not in seen:
                seen.add(name)
                queue.append(('array', name, t[0]))
            ref(t[0])
            return name
        if t not in seen:
            seen.add(t)
            queue.append(('type', t, None))
        return t

    ents = [e for e in schema.order if e.meta in ('command', 'event')]
    for e in ents:
        info = {'name': e.name, 'meta-type': e.meta,
                'arg-type': ref(e.arg_type or 'q_empty')}
        if e.meta == 'command':
            info['ret-type'] = ref(e.ret_type or 'q_empty')
            if e.expr.get('allow-oob'):
                info['allow-oob'] = True
        out.append(info)
    def features(e):
        return [f['name'] if isinstance(f, dict) else f
                for f in e.expr.get('features', [])]

    for info in out:
        f = features(schema.entities[info['name']])
        if f:
            info['features'] = f
    while queue:
        kind, name, el = queue.pop(0)
        if kind == 'array':
            out.append({'name': name, 'meta-type': 'array',
                        'element-type': el if not isinstance(el, list)
                        else '[%s]' % el[0]})
            continue
        if name == 'q_empty':
            out.append({'name': name, 'meta-type': 'object', 'members': []})
            continue
        if name in BUILTINS:
            out.append({'name': name, 'meta-type': 'builtin',
                        'json-type': BUILTINS[name][1]})
            continue
        ent = schema.entities[name]
        if ent.meta == 'enum':
            out.append({'name': name, 'meta-type': 'enum',
                        'members': [{'name': v} for v in ent.values],
                        'values': ent.values})
        elif ent.meta == 'alternate':
            out.append({'name': name, 'meta-type': 'alternate',
                        'members': [{'type': ref(t)} for _, t, _ in ent.members]})
        else:
            members = []
            for mem in ent.members:
                n, t, o = mem
                m = {'name': n, 'type': ref(t)}
                if o:
                    m['default'] = None
                if getattr(mem, 'features', ()):
                    m['features'] = list(mem.features)
                members.append(m)
            info = {'name': name, 'meta-type': 'object', 'members': members}
            if ent.variants:
                info['tag'] = ent.tag
                info['variants'] = [{'case': v, 'type': ref(t)}
                                    for v, t in ent.variants]
            out.append(info)
    return out


def init_files(schema):
    mods = [m for m in schema.modules
            if any(e.module == m and e.meta == 'command' for e in schema.order)]
    h = (HEADER % 'schema' + '#ifndef LB_QAPI_INIT_H\n#define LB_QAPI_INIT_H\n\n'
         '#include "qapi-visit.h"\n\n'
         '/* Every module\'s command table, NULL-terminated. */\n'
         'extern const LbQmpCommand *const lb_qapi_command_tables[];\n'
         '/* query-qmp-schema: the SchemaInfo list as JSON text. */\n'
         'extern const char lb_qapi_introspection[];\n\n#endif\n')
    c = [HEADER % 'schema', '#include "config.h"\n#include "lb-qapi-init.h"\n']
    for m in mods:
        c.append('#include "lb-qapi-commands-%s.h"\n' % m)
    c.append('\nconst LbQmpCommand *const lb_qapi_command_tables[] = {\n')
    for m in mods:
        c.append('    lb_qapi_commands_%s,\n' % c_name(m))
    c.append('    NULL,\n};\n\nconst char lb_qapi_introspection[] =\n')
    text = json.dumps(introspect(schema), separators=(',', ':'))
    for i in range(0, len(text), 72):
        c.append('    %s\n' % c_string(text[i:i + 72]))
    c.append('    ;\n')
    return h, ''.join(c)


def write(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-o', '--output-dir', default='.')
    grp = ap.add_mutually_exclusive_group(required=True)
    grp.add_argument('-m', '--module')
    grp.add_argument('--init', action='store_true')
    ap.add_argument('schema')
    args = ap.parse_args()
    try:
        schema = Schema(args.schema)
    except (SchemaError, KeyError, OSError) as e:
        sys.exit('qapi-gen: %s' % e)
    o = args.output_dir
    if args.init:
        h, c = init_files(schema)
        write(os.path.join(o, 'lb-qapi-init.h'), h)
        write(os.path.join(o, 'lb-qapi-init.c'), c)
        return
    if args.module not in schema.modules:
        sys.exit('qapi-gen: no module %s' % args.module)
    g = ModuleGen(schema, args.module)
    tc = g.types_c()           # fills g.arrays before the header is written
    write(os.path.join(o, 'lb-qapi-types-%s.h' % args.module), g.types_h())
    write(os.path.join(o, 'lb-qapi-types-%s.c' % args.module), tc)
    write(os.path.join(o, 'lb-qapi-commands-%s.h' % args.module), g.commands_h())
    write(os.path.join(o, 'lb-qapi-commands-%s.c' % args.module), g.commands_c())


if __name__ == '__main__':
    main()
