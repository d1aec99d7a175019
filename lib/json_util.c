// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Checked reads over json-c for the config parser (config_json.h): the
 * strict parse of the text with line and column in its errors, and typed
 * getters that name the key path and the accepted range when a value is
 * wrong. json-c only says what a value is; whether it is acceptable, and
 * how to tell the user, is decided here once for every key.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_util.h"

int json_check_fail(struct json_check *jc, const char *path, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (!jc->err || !jc->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(jc->err, jc->errlen, "%s: %s: %s", jc->origin, path, what);
	return -1;
}

/* Cuts at JSON_CHECK_PATH_MAX: only a user's absurdly long unknown key can
 * get there, and a cut key still points at the spot. */
static void path_append(char *out, size_t *used, const char *str)
{
	while (*str && *used + 1 < JSON_CHECK_PATH_MAX)
		out[(*used)++] = *str++;
	out[*used] = '\0';
}

void json_check_key_path(char out[JSON_CHECK_PATH_MAX], const char *parent, const char *key)
{
	size_t used = 0;

	path_append(out, &used, parent);
	if (parent[0])
		path_append(out, &used, ".");
	path_append(out, &used, key);
}

void json_check_index_path(char out[JSON_CHECK_PATH_MAX], const char *parent, size_t index)
{
	char subscript[32];
	size_t used = 0;

	snprintf(subscript, sizeof(subscript), "[%zu]", index);
	path_append(out, &used, parent);
	path_append(out, &used, subscript);
}

const char *json_check_describe(struct json_object *val, char buf[JSON_CHECK_DESCRIBE_MAX])
{
	const int keep = JSON_CHECK_DESCRIBE_MAX - 4;
	const char *text;

	switch (json_object_get_type(val)) {
	case json_type_null:
		return "null";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	default:
		/* Doubles keep their source text in json-c, so "1.50" stays "1.50". */
		text = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
		if (strlen(text) > (size_t)keep)
			snprintf(buf, JSON_CHECK_DESCRIBE_MAX, "%.*s...", keep - 3, text);
		else
			snprintf(buf, JSON_CHECK_DESCRIBE_MAX, "%s", text);
		return buf;
	}
}

/* Names a byte offset of the text as "line L, column C" (both from 1). */
static void text_position(const char *text, size_t offset, char *out, size_t len)
{
	unsigned line = 1, column = 1;

	for (size_t i = 0; i < offset && text[i]; i++) {
		if (text[i] == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	snprintf(out, len, "line %u, column %u", line, column);
}

static size_t skip_blanks(const char *text, size_t offset)
{
	while (text[offset] == ' ' || text[offset] == '\t' || text[offset] == '\n' ||
	       text[offset] == '\r')
		offset++;
	return offset;
}

struct json_object *json_check_parse_text(struct json_check *jc, const char *text,
					  size_t max_len)
{
	size_t len = strlen(text);
	size_t start = skip_blanks(text, 0);
	struct json_object *root;
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	char where[64];
	size_t end;

	if (!text[start]) {
		json_check_fail(jc, "top level", "empty document (expected a JSON object)");
		return NULL;
	}
	/* json-c waits for more input after a bare scalar; say what is wrong. */
	if (text[start] != '{') {
		json_check_fail(jc, "top level", "must be a JSON object ({ ... })");
		return NULL;
	}
	if (len > max_len) {
		json_check_fail(jc, "top level", "document too large (over %zu bytes)", max_len);
		return NULL;
	}

	tok = json_tokener_new();
	if (!tok) {
		json_check_fail(jc, "top level", "out of memory");
		return NULL;
	}
	/* Strict: no comments or trailing commas, so the file stays plain JSON
	 * that every other tool reads the same. Trailing text is allowed here
	 * only to be refused below with a clearer message than json-c's. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
					    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (jerr == json_tokener_continue) {
		text_position(text, len, where, sizeof(where));
		json_check_fail(jc, where,
				"invalid JSON: unexpected end of input (unclosed object, array or string)");
		goto fail;
	}
	if (jerr != json_tokener_success) {
		text_position(text, end, where, sizeof(where));
		json_check_fail(jc, where, "invalid JSON: %s", json_tokener_error_desc(jerr));
		goto fail;
	}
	end = skip_blanks(text, end);
	if (text[end]) {
		text_position(text, end, where, sizeof(where));
		json_check_fail(jc, where,
				"invalid JSON: trailing characters after the top-level object");
		goto fail;
	}
	return root;
fail:
	json_object_put(root);
	return NULL;
}

static bool key_known(const char *key, const char *const *known)
{
	for (; *known; known++)
		if (!strcmp(key, *known))
			return true;
	return false;
}

int json_check_keys(struct json_check *jc, struct json_object *obj, const char *path,
		    const char *const *known)
{
	char key_path[JSON_CHECK_PATH_MAX];
	char expected[256] = "";
	size_t used = 0;

	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		if (key_known(key, known))
			continue;
		for (const char *const *k = known; *k && used < sizeof(expected); k++)
			used += snprintf(expected + used, sizeof(expected) - used, "%s%s",
					 k == known ? "" : ", ", *k);
		json_check_key_path(key_path, path, key);
		return json_check_fail(jc, key_path, "unknown key (expected one of: %s)",
				       expected);
	}
	return 0;
}

int json_check_object(struct json_check *jc, struct json_object *val, const char *path)
{
	char buf[JSON_CHECK_DESCRIBE_MAX];

	if (json_object_is_type(val, json_type_object))
		return 0;
	return json_check_fail(jc, path, "must be an object, got %s",
			       json_check_describe(val, buf));
}

int json_check_array(struct json_check *jc, struct json_object *val, const char *path)
{
	char buf[JSON_CHECK_DESCRIBE_MAX];

	if (json_object_is_type(val, json_type_array))
		return 0;
	return json_check_fail(jc, path, "must be an array, got %s",
			       json_check_describe(val, buf));
}

int json_check_uint(struct json_check *jc, struct json_object *val, const char *path,
		    int64_t min, int64_t max, unsigned *out)
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	int64_t num;

	/* 1.0 or 1e3 are refused too: a count written as a fraction is
	 * probably a knob mistaken for another. */
	if (!json_object_is_type(val, json_type_int))
		goto bad;
	/* json-c saturates out-of-range integers, which the range refuses. */
	num = json_object_get_int64(val);
	if (num < min || num > max)
		goto bad;
	*out = (unsigned)num;
	return 0;
bad:
	return json_check_fail(jc, path, "must be an integer in %lld..%lld, got %s",
			       (long long)min, (long long)max, json_check_describe(val, buf));
}

int json_check_number(struct json_check *jc, struct json_object *val, const char *path,
		      const struct json_check_range *range, double *out)
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	double num;

	if (!json_object_is_type(val, json_type_int) && !json_object_is_type(val, json_type_double))
		goto bad;
	num = json_object_get_double(val);
	if (!isfinite(num) || num < range->lo || num > range->hi ||
	    (range->lo_open && num == range->lo) || (range->hi_open && num == range->hi))
		goto bad;
	*out = num;
	return 0;
bad:
	return json_check_fail(jc, path, "must be a number in %c%g, %g%c, got %s",
			       range->lo_open ? '(' : '[', range->lo, range->hi,
			       range->hi_open ? ')' : ']', json_check_describe(val, buf));
}

int json_check_bool(struct json_check *jc, struct json_object *val, const char *path,
		    bool *out)
{
	char buf[JSON_CHECK_DESCRIBE_MAX];

	if (!json_object_is_type(val, json_type_boolean))
		return json_check_fail(jc, path, "must be true or false, got %s",
				       json_check_describe(val, buf));
	*out = json_object_get_boolean(val);
	return 0;
}

int json_check_string(struct json_check *jc, struct json_object *val, const char *path,
		      const char **out)
{
	char buf[JSON_CHECK_DESCRIBE_MAX];
	const char *str;

	if (!json_object_is_type(val, json_type_string))
		return json_check_fail(jc, path, "must be a string, got %s",
				       json_check_describe(val, buf));
	/* "\u0000" is valid JSON but would silently cut a C string. */
	str = json_object_get_string(val);
	if (strlen(str) != (size_t)json_object_get_string_len(val))
		return json_check_fail(jc, path, "must not contain a NUL character");
	*out = str;
	return 0;
}

bool json_check_lookup(struct json_object *obj, const char *parent, const char *key,
		       struct json_object **val, char path[JSON_CHECK_PATH_MAX])
{
	if (!json_object_object_get_ex(obj, key, val))
		return false;
	json_check_key_path(path, parent, key);
	return true;
}

int json_check_opt_uint(struct json_check *jc, struct json_object *obj, const char *parent,
			const char *key, int64_t min, int64_t max, unsigned *out)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (!json_check_lookup(obj, parent, key, &val, path))
		return 0;
	return json_check_uint(jc, val, path, min, max, out);
}

int json_check_opt_number(struct json_check *jc, struct json_object *obj, const char *parent,
			  const char *key, const struct json_check_range *range, double *out)
{
	char path[JSON_CHECK_PATH_MAX];
	struct json_object *val;

	if (!json_check_lookup(obj, parent, key, &val, path))
		return 0;
	return json_check_number(jc, val, path, range, out);
}

int json_check_require(struct json_check *jc, struct json_object *obj, const char *parent,
		       const char *key, struct json_object **val, char path[JSON_CHECK_PATH_MAX])
{
	if (json_check_lookup(obj, parent, key, val, path))
		return 0;
	json_check_key_path(path, parent, key);
	return json_check_fail(jc, path, "required key missing");
}
