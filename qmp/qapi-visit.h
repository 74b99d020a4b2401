/*
 * qapi-visit.h: run-time support for the code scripts/qapi-gen.py emits.
 *
 * The generator describes every schema type with a constant LbQapiType;
 * lb_qapi_validate() walks a JSON value against such a descriptor and
 * reports the first problem with the message QEMU's QObject input visitor
 * gives ("Parameter 'file.filename' is missing", "Invalid parameter type
 * for 'size', expected: integer", "Parameter 'foo' is unexpected",
 * "Parameter 'driver' does not accept value 'qcow9'").  Once arguments are
 * valid, the generated marshallers read them without further checks.
 */
#ifndef LB_QMP_QAPI_VISIT_H
#define LB_QMP_QAPI_VISIT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>

typedef enum {
    LB_QAPI_KIND_BUILTIN,
    LB_QAPI_KIND_ENUM,
    LB_QAPI_KIND_OBJECT, /* struct or flat union */
    LB_QAPI_KIND_ALTERNATE,
    LB_QAPI_KIND_ARRAY,
} LbQapiKind;

typedef enum {
    LB_QAPI_STR,
    LB_QAPI_INT,
    LB_QAPI_INT8,
    LB_QAPI_INT16,
    LB_QAPI_INT32,
    LB_QAPI_INT64,
    LB_QAPI_UINT8,
    LB_QAPI_UINT16,
    LB_QAPI_UINT32,
    LB_QAPI_UINT64,
    LB_QAPI_SIZE,
    LB_QAPI_NUMBER,
    LB_QAPI_BOOL,
    LB_QAPI_NULL,
    LB_QAPI_ANY,
} LbQapiBuiltin;

typedef struct LbQapiType LbQapiType;

typedef struct LbQapiMember {
    const char *name;
    const LbQapiType *type;
    bool optional;
} LbQapiMember;

typedef struct LbQapiVariant {
    const char *value;      /* discriminator value */
    const LbQapiType *type; /* branch struct */
} LbQapiVariant;

struct LbQapiType {
    const char *name;
    LbQapiKind kind;
    LbQapiBuiltin builtin;
    const char *const *values; /* enum */
    unsigned n_values;
    const LbQapiMember *members; /* object: base and own members */
    unsigned n_members;
    const char *tag; /* union discriminator */
    const LbQapiVariant *variants;
    unsigned n_variants;
    const LbQapiType *element; /* array */
    const LbQapiType *const *alternatives;
    unsigned n_alternatives;
};

/* A command of the dispatch table (generated per schema module). */
typedef bool (*LbQmpMarshalFunc)(JsonObject *args, JsonNode **ret,
                                 GError **errp);
typedef struct LbQmpCommand {
    const char *name;
    const LbQapiType *args; /* NULL: takes no arguments */
    LbQmpMarshalFunc fn;
    bool allow_preconfig;
} LbQmpCommand;

extern const LbQapiType lb_qapi_type_str, lb_qapi_type_int, lb_qapi_type_int8,
    lb_qapi_type_int16, lb_qapi_type_int32, lb_qapi_type_int64,
    lb_qapi_type_uint8, lb_qapi_type_uint16, lb_qapi_type_uint32,
    lb_qapi_type_uint64, lb_qapi_type_size, lb_qapi_type_number,
    lb_qapi_type_bool, lb_qapi_type_null, lb_qapi_type_any;

/**
 * lb_qapi_validate: check @node (NULL = absent arguments, treated as {})
 * against @type.  Returns: false with @errp set (QEMU's wording, domain
 * LB_QMP_ERROR, GenericError class) on the first problem.
 */
bool lb_qapi_validate(const LbQapiType *type, JsonNode *node, GError **errp);

/**
 * lb_qapi_validate_full: like lb_qapi_validate; with @keyval, scalars may
 * also be strings that convert to the member's type ("on", "512", "1M"),
 * as options parsed from the command line's keyval syntax are.  Unknown
 * keys are then not reported: the consuming layer rejects them.
 */
bool lb_qapi_validate_full(const LbQapiType *type, JsonNode *node, bool keyval,
                           GError **errp);

/** lb_qapi_enum_value: index of @str in the enum @type's values, or -1. */
int lb_qapi_enum_value(const LbQapiType *type, const char *str);

#endif /* LB_QMP_QAPI_VISIT_H */
