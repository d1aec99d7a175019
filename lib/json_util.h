/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Checked reads of json-c values for the config parser: each getter takes
 * the value's key path ("levels[2].weight") and on a wrong type or range
 * writes the one-line error "<origin>: <path>: <what is wrong>" and returns
 * -1, so the schema in config.c reads as a list of keys and limits.
 */
#ifndef TRIAGE_CONFIG_JSON_H
#define TRIAGE_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define JSON_CHECK_PATH_MAX 160
/* Buffer for json_check_describe(): a value is cut to fit. */
#define JSON_CHECK_DESCRIBE_MAX 52

struct json_check {
	const char *origin; /* file path or "<embedded default>" */
	char *err;
	size_t errlen;
};

/* Writes "<origin>: <path>: <what>"; returns -1 for the caller to pass up. */
int json_check_fail(struct json_check *jc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void json_check_key_path(char out[JSON_CHECK_PATH_MAX], const char *parent, const char *key);
void json_check_index_path(char out[JSON_CHECK_PATH_MAX], const char *parent, size_t index);

/* The value as a message shows it: JSON text of a scalar, cut if long;
 * "an object" or "an array" for containers. */
const char *json_check_describe(struct json_object *val, char buf[JSON_CHECK_DESCRIBE_MAX]);

/* Parses text as one JSON object, strictly (no comments, no trailing
 * commas or text, valid UTF-8); errors name the line and column. Returns
 * the root (to json_object_put) or NULL. */
struct json_object *json_check_parse_text(struct json_check *jc, const char *text,
					  size_t max_len);

/* known: NULL-terminated list of the keys obj may hold. */
int json_check_keys(struct json_check *jc, struct json_object *obj, const char *path,
		    const char *const *known);
int json_check_object(struct json_check *jc, struct json_object *val, const char *path);
int json_check_array(struct json_check *jc, struct json_object *val, const char *path);

int json_check_uint(struct json_check *jc, struct json_object *val, const char *path,
		    int64_t min, int64_t max, unsigned *out);

struct json_check_range {
	double lo, hi;
	bool lo_open, hi_open; /* whether lo and hi themselves are excluded */
};

/* Integers are accepted as numbers too; NaN and infinities never are. */
int json_check_number(struct json_check *jc, struct json_object *val, const char *path,
		      const struct json_check_range *range, double *out);
int json_check_bool(struct json_check *jc, struct json_object *val, const char *path,
		    bool *out);
/* A string without embedded NUL characters. */
int json_check_string(struct json_check *jc, struct json_object *val, const char *path,
		      const char **out);

/* Like json_check_lookup(), for a key obj must hold: when it is absent,
 * fails with "<parent.key>: required key missing". */
int json_check_require(struct json_check *jc, struct json_object *obj, const char *parent,
		       const char *key, struct json_object **val, char path[JSON_CHECK_PATH_MAX]);

/* Whether obj holds key; when it does, *val and path (parent.key) are set. */
bool json_check_lookup(struct json_object *obj, const char *parent, const char *key,
		       struct json_object **val, char path[JSON_CHECK_PATH_MAX]);

/* Reads key of obj into *out when present; leaves *out (the default) alone
 * when absent. */
int json_check_opt_uint(struct json_check *jc, struct json_object *obj, const char *parent,
			const char *key, int64_t min, int64_t max, unsigned *out);
int json_check_opt_number(struct json_check *jc, struct json_object *obj, const char *parent,
			  const char *key, const struct json_check_range *range, double *out);

#endif
