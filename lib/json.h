/* The few json-c helpers every stats section uses. */
#ifndef AROM_LIB_JSON_H
#define AROM_LIB_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A double that prints with 15 significant digits (exact integers to 1e15,
 * 0.1 stays 0.1). */
json_object *json_double(double v);
void json_add_u64(json_object *o, const char *key, uint64_t v);
void json_add_i64(json_object *o, const char *key, int64_t v);
void json_add_double(json_object *o, const char *key, double v);
void json_add_bool(json_object *o, const char *key, bool v);
void json_add_str(json_object *o, const char *key, const char *v);

/* The number at a dotted path ("ltram.wear.max") of o: true and *out, or
 * false when a part is missing or the value is not a number or boolean. */
bool json_path_number(json_object *o, const char *path, double *out);

/* Many unsigned figures at once: JSON_U64S(o, {"a", x}, {"b", y}, ...). */
struct json_u64 {
    const char *key;
    uint64_t v;
};
void json_add_u64s(json_object *o, const struct json_u64 *f, size_t n);
#define JSON_U64S(o, ...)                                                                   \
    json_add_u64s((o), (const struct json_u64[]){__VA_ARGS__},                              \
                  sizeof((const struct json_u64[]){__VA_ARGS__}) / sizeof(struct json_u64))

#endif
