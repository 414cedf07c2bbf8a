#include <stdio.h>
#include <string.h>

#include "lib/json.h"

json_object *json_double(double v)
{
    char text[32];
    snprintf(text, sizeof text, "%.15g", v);
    return json_object_new_double_s(v, text);
}

void json_add_u64(json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_uint64(v));
}

void json_add_i64(json_object *o, const char *key, int64_t v)
{
    json_object_object_add(o, key, json_object_new_int64(v));
}

void json_add_double(json_object *o, const char *key, double v)
{
    json_object_object_add(o, key, json_double(v));
}

void json_add_bool(json_object *o, const char *key, bool v)
{
    json_object_object_add(o, key, json_object_new_boolean(v));
}

void json_add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, json_object_new_string(v));
}

void json_add_u64s(json_object *o, const struct json_u64 *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_add_u64(o, f[i].key, f[i].v);
}

bool json_path_number(json_object *o, const char *path, double *out)
{
    char key[128];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return false;
        memcpy(key, path, n);
        key[n] = '\0';
        if (!json_object_object_get_ex(o, key, &o))
            return false;
        path += n + (path[n] == '.');
    }
    if (!o)
        return false;
    switch (json_object_get_type(o)) {
    case json_type_int:
    case json_type_double:
    case json_type_boolean:
        *out = json_object_get_double(o);
        return true;
    default:
        return false;
    }
}
