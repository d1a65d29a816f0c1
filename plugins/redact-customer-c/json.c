#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Arena ---- */

struct json_arena_chunk {
    json_arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

enum {
    ARENA_MIN_CHUNK = 16 * 1024,
    ARENA_MAX_GROWTH = 1024 * 1024,
};

void *json_arena_alloc(json_arena *arena, size_t size) {
    if (size > SIZE_MAX - 15)
        abort();
    size = (size + 15) & ~(size_t)15;

    json_arena_chunk *head = arena->chunks;
    if (head != NULL && head->size - head->used >= size) {
        void *memory = head->data + head->used;
        head->used += size;
        return memory;
    }

    /* Chunks double up to a limit, so that a large document needs few of them. */
    size_t chunk_size = ARENA_MIN_CHUNK;
    if (head != NULL && head->size < ARENA_MAX_GROWTH)
        chunk_size = head->size * 2;
    else if (head != NULL)
        chunk_size = head->size;
    if (chunk_size < size)
        chunk_size = size;
    if (chunk_size > SIZE_MAX - sizeof(json_arena_chunk))
        abort();

    json_arena_chunk *chunk = malloc(sizeof(json_arena_chunk) + chunk_size);
    if (chunk == NULL)
        abort();
    chunk->next = head;
    chunk->size = chunk_size;
    chunk->used = size;
    arena->chunks = chunk;
    return chunk->data;
}

void json_arena_reset(json_arena *arena) {
    /* Keep the largest chunk, which is the one a document of this size needs again. */
    json_arena_chunk *largest = NULL;
    for (json_arena_chunk *chunk = arena->chunks; chunk != NULL; chunk = chunk->next) {
        if (largest == NULL || chunk->size > largest->size)
            largest = chunk;
    }

    json_arena_chunk *chunk = arena->chunks;
    while (chunk != NULL) {
        json_arena_chunk *next = chunk->next;
        if (chunk != largest)
            free(chunk);
        chunk = next;
    }

    arena->chunks = largest;
    if (largest != NULL) {
        largest->next = NULL;
        largest->used = 0;
    }
}

void json_arena_free(json_arena *arena) {
    json_arena_chunk *chunk = arena->chunks;
    while (chunk != NULL) {
        json_arena_chunk *next = chunk->next;
        free(chunk);
        chunk = next;
    }
    arena->chunks = NULL;
}

static void *arena_array(json_arena *arena, size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size)
        abort();
    return json_arena_alloc(arena, count * size);
}

/* ---- Parser ---- */

typedef struct parser {
    const uint8_t *text;
    size_t len;
    size_t pos;
    json_arena *arena;
    /* Counts down on entering an array or object. Zero means too deep, as in serde_json. */
    int remaining_depth;
} parser;

static bool parse_value(parser *p, json_value *out);

static void skip_whitespace(parser *p) {
    while (p->pos < p->len) {
        uint8_t c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

/* Returns the next byte, or 0 at the end, which no valid token starts with. */
static uint8_t peek(const parser *p) {
    return p->pos < p->len ? p->text[p->pos] : 0;
}

static bool is_digit(uint8_t c) {
    return c >= '0' && c <= '9';
}

static bool is_continuation(uint8_t c) {
    return (c & 0xC0) == 0x80;
}

/*
 * Returns the length of the UTF-8 sequence that starts with the non-ASCII byte at
 * text[0], or 0 when it is invalid: overlong, a surrogate, above U+10FFFF or cut off.
 */
static size_t utf8_sequence_length(const uint8_t *text, size_t available) {
    uint8_t lead = text[0];
    size_t len;
    uint8_t second_min = 0x80, second_max = 0xBF;

    if (lead >= 0xC2 && lead <= 0xDF) {
        len = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        len = 3;
        if (lead == 0xE0)
            second_min = 0xA0;
        else if (lead == 0xED)
            second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        len = 4;
        if (lead == 0xF0)
            second_min = 0x90;
        else if (lead == 0xF4)
            second_max = 0x8F;
    } else {
        return 0;
    }

    if (available < len || text[1] < second_min || text[1] > second_max)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (!is_continuation(text[i]))
            return 0;
    }
    return len;
}

static int hex_value(uint8_t c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits of a \u escape at text[pos]. Returns -1 when they are invalid. */
static long read_hex4(const parser *p, size_t pos) {
    if (p->len - pos < 4)
        return -1;
    long value = 0;
    for (size_t i = 0; i < 4; i++) {
        int digit = hex_value(p->text[pos + i]);
        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

static size_t encode_utf8(uint32_t code_point, char *out) {
    if (code_point < 0x80) {
        out[0] = (char)code_point;
        return 1;
    }
    if (code_point < 0x800) {
        out[0] = (char)(0xC0 | (code_point >> 6));
        out[1] = (char)(0x80 | (code_point & 0x3F));
        return 2;
    }
    if (code_point < 0x10000) {
        out[0] = (char)(0xE0 | (code_point >> 12));
        out[1] = (char)(0x80 | ((code_point >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code_point & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (code_point >> 18));
    out[1] = (char)(0x80 | ((code_point >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code_point >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code_point & 0x3F));
    return 4;
}

/*
 * Decodes the escapes of the string body text[start, end). The body's raw bytes are
 * already checked, and no escape decodes to more bytes than its text, so `end - start`
 * bytes are enough.
 */
static bool decode_escapes(parser *p, size_t start, size_t end, const char **data, size_t *len) {
    char *out = json_arena_alloc(p->arena, end - start);
    size_t written = 0;
    size_t pos = start;

    while (pos < end) {
        uint8_t c = p->text[pos];
        if (c != '\\') {
            out[written++] = (char)c;
            pos++;
            continue;
        }

        /* The scan in parse_string guarantees that a byte follows each backslash. */
        uint8_t escape = p->text[pos + 1];
        pos += 2;
        switch (escape) {
        case '"':
        case '\\':
        case '/':
            out[written++] = (char)escape;
            continue;
        case 'b':
            out[written++] = '\b';
            continue;
        case 'f':
            out[written++] = '\f';
            continue;
        case 'n':
            out[written++] = '\n';
            continue;
        case 'r':
            out[written++] = '\r';
            continue;
        case 't':
            out[written++] = '\t';
            continue;
        case 'u':
            break;
        default:
            return false;
        }

        if (end - pos < 4)
            return false;
        long unit = read_hex4(p, pos);
        if (unit < 0)
            return false;
        pos += 4;

        uint32_t code_point = (uint32_t)unit;
        if (unit >= 0xDC00 && unit <= 0xDFFF)
            return false; /* A trailing surrogate without a leading one. */
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            /* A leading surrogate must be followed by an escaped trailing one. */
            if (end - pos < 6 || p->text[pos] != '\\' || p->text[pos + 1] != 'u')
                return false;
            long trailing = read_hex4(p, pos + 2);
            if (trailing < 0xDC00 || trailing > 0xDFFF)
                return false;
            pos += 6;
            code_point = 0x10000 + (((uint32_t)unit - 0xD800) << 10) + ((uint32_t)trailing - 0xDC00);
        }
        written += encode_utf8(code_point, out + written);
    }

    *data = out;
    *len = written;
    return true;
}

/* Parses a string whose opening quote is at p->pos. */
static bool parse_string(parser *p, const char **data, size_t *len) {
    size_t start = p->pos + 1;
    size_t pos = start;
    bool has_escape = false;

    /* Find the closing quote, checking the raw bytes on the way. */
    for (;;) {
        if (pos >= p->len)
            return false;
        uint8_t c = p->text[pos];
        if (c == '"')
            break;
        if (c == '\\') {
            if (p->len - pos < 2)
                return false;
            has_escape = true;
            pos += 2;
            continue;
        }
        if (c < 0x20)
            return false;
        if (c < 0x80) {
            pos++;
            continue;
        }
        size_t sequence = utf8_sequence_length(p->text + pos, p->len - pos);
        if (sequence == 0)
            return false;
        pos += sequence;
    }

    size_t end = pos;
    p->pos = end + 1;
    if (!has_escape) {
        *data = (const char *)p->text + start;
        *len = end - start;
        return true;
    }
    return decode_escapes(p, start, end, data, len);
}

static void skip_digits(parser *p) {
    while (p->pos < p->len && is_digit(p->text[p->pos]))
        p->pos++;
}

/*
 * Tells whether the number text overflows a double, which serde_json rejects. Only a
 * number with an exponent or more than 300 characters can.
 * NOTE: serde_json's default float parser is not always correctly rounded, so a number
 * within an ulp of DBL_MAX may be accepted by one side and rejected by the other.
 */
static bool overflows_double(parser *p, const char *text, size_t len, bool has_exponent) {
    if (!has_exponent && len <= 300)
        return false;
    char *copy = json_arena_alloc(p->arena, len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    return isinf(strtod(copy, NULL));
}

static bool parse_number(parser *p, json_value *out) {
    size_t start = p->pos;
    if (peek(p) == '-')
        p->pos++;

    uint8_t first = peek(p);
    if (first == '0') {
        p->pos++;
    } else if (first >= '1' && first <= '9') {
        skip_digits(p);
    } else {
        return false;
    }

    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p)))
            return false;
        skip_digits(p);
    }

    bool has_exponent = peek(p) == 'e' || peek(p) == 'E';
    if (has_exponent) {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!is_digit(peek(p)))
            return false;
        skip_digits(p);
    }

    const char *text = (const char *)p->text + start;
    size_t len = p->pos - start;
    if (overflows_double(p, text, len, has_exponent))
        return false;

    out->kind = JSON_NUMBER;
    out->as.text.data = text;
    out->as.text.len = len;
    return true;
}

static bool parse_literal(parser *p, const char *literal, json_kind kind, json_value *out) {
    size_t len = strlen(literal);
    if (p->len - p->pos < len || memcmp(p->text + p->pos, literal, len) != 0)
        return false;
    p->pos += len;
    out->kind = kind;
    return true;
}

/* Returns `items` with room for twice as many, copied into new arena memory. */
static void *grow_array(json_arena *arena, void *items, size_t count, size_t *capacity,
                        size_t size) {
    size_t grown = *capacity == 0 ? 4 : *capacity;
    if (*capacity != 0) {
        if (grown > SIZE_MAX / 2)
            abort();
        grown *= 2;
    }
    void *copy = arena_array(arena, grown, size);
    if (count != 0)
        memcpy(copy, items, count * size);
    *capacity = grown;
    return copy;
}

static bool parse_array(parser *p, json_value *out) {
    p->pos++;
    json_value *items = NULL;
    size_t count = 0, capacity = 0;

    skip_whitespace(p);
    if (peek(p) == ']') {
        p->pos++;
    } else {
        for (;;) {
            if (count == capacity)
                items = grow_array(p->arena, items, count, &capacity, sizeof *items);
            if (!parse_value(p, &items[count]))
                return false;
            count++;

            skip_whitespace(p);
            uint8_t c = peek(p);
            p->pos++;
            if (c == ']')
                break;
            if (c != ',')
                return false;
        }
    }

    out->kind = JSON_ARRAY;
    out->as.array.items = items;
    out->as.array.count = count;
    return true;
}

static bool same_key(const json_member *a, const json_member *b) {
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

typedef struct member_ref {
    const json_member *member;
    size_t index;
} member_ref;

static int compare_member_refs(const void *left, const void *right) {
    const member_ref *a = left;
    const member_ref *b = right;
    size_t common = a->member->key_len < b->member->key_len ? a->member->key_len
                                                              : b->member->key_len;
    int order = memcmp(a->member->key, b->member->key, common);
    if (order != 0)
        return order;
    if (a->member->key_len != b->member->key_len)
        return a->member->key_len < b->member->key_len ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/*
 * Leaves one member per key, with the value of the key's last occurrence at the place of
 * its first, as serde_json's map does. Sorting keeps large objects from taking quadratic
 * time.
 */
static void remove_duplicate_keys(json_arena *arena, json_member *members, size_t *count) {
    size_t n = *count;
    if (n < 2)
        return;

    if (n <= 32) {
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            size_t j = 0;
            while (j < kept && !same_key(&members[j], &members[i]))
                j++;
            if (j < kept)
                members[j].value = members[i].value;
            else
                members[kept++] = members[i];
        }
        *count = kept;
        return;
    }

    member_ref *refs = arena_array(arena, n, sizeof *refs);
    for (size_t i = 0; i < n; i++)
        refs[i] = (member_ref){&members[i], i};
    qsort(refs, n, sizeof *refs, compare_member_refs);

    bool *dropped = arena_array(arena, n, sizeof *dropped);
    memset(dropped, 0, n * sizeof *dropped);
    bool any_dropped = false;
    size_t run = 0;
    while (run < n) {
        size_t last = run;
        while (last + 1 < n && same_key(refs[last + 1].member, refs[run].member))
            last++;
        if (last != run) {
            members[refs[run].index].value = members[refs[last].index].value;
            for (size_t i = run + 1; i <= last; i++)
                dropped[refs[i].index] = true;
            any_dropped = true;
        }
        run = last + 1;
    }
    if (!any_dropped)
        return;

    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!dropped[i])
            members[kept++] = members[i];
    }
    *count = kept;
}

static bool parse_object(parser *p, json_value *out) {
    p->pos++;
    json_member *members = NULL;
    size_t count = 0, capacity = 0;

    skip_whitespace(p);
    if (peek(p) == '}') {
        p->pos++;
    } else {
        for (;;) {
            if (count == capacity)
                members = grow_array(p->arena, members, count, &capacity, sizeof *members);
            json_member *member = &members[count];

            skip_whitespace(p);
            if (peek(p) != '"' || !parse_string(p, &member->key, &member->key_len))
                return false;
            skip_whitespace(p);
            if (peek(p) != ':')
                return false;
            p->pos++;
            if (!parse_value(p, &member->value))
                return false;
            count++;

            skip_whitespace(p);
            uint8_t c = peek(p);
            p->pos++;
            if (c == '}')
                break;
            if (c != ',')
                return false;
        }
    }

    remove_duplicate_keys(p->arena, members, &count);
    out->kind = JSON_OBJECT;
    out->as.object.members = members;
    out->as.object.count = count;
    out->as.object.capacity = capacity;
    return true;
}

static bool parse_value(parser *p, json_value *out) {
    skip_whitespace(p);
    switch (peek(p)) {
    case '{':
    case '[': {
        if (--p->remaining_depth == 0)
            return false;
        bool ok = peek(p) == '{' ? parse_object(p, out) : parse_array(p, out);
        p->remaining_depth++;
        return ok;
    }
    case '"':
        out->kind = JSON_STRING;
        return parse_string(p, &out->as.text.data, &out->as.text.len);
    case 't':
        return parse_literal(p, "true", JSON_TRUE, out);
    case 'f':
        return parse_literal(p, "false", JSON_FALSE, out);
    case 'n':
        return parse_literal(p, "null", JSON_NULL, out);
    default:
        return parse_number(p, out);
    }
}

bool json_parse(json_arena *arena, const uint8_t *text, size_t len, json_value *out) {
    parser p = {
        .text = text,
        .len = len,
        .pos = 0,
        .arena = arena,
        .remaining_depth = JSON_MAX_DEPTH + 1,
    };
    if (!parse_value(&p, out))
        return false;
    skip_whitespace(&p);
    return p.pos == p.len;
}

/* ---- Values ---- */

static size_t find_member(const json_value *object, const char *key) {
    size_t key_len = strlen(key);
    for (size_t i = 0; i < object->as.object.count; i++) {
        const json_member *member = &object->as.object.members[i];
        if (member->key_len == key_len && memcmp(member->key, key, key_len) == 0)
            return i;
    }
    return SIZE_MAX;
}

json_value *json_object_get(json_value *object, const char *key) {
    if (object == NULL || object->kind != JSON_OBJECT)
        return NULL;
    size_t index = find_member(object, key);
    return index == SIZE_MAX ? NULL : &object->as.object.members[index].value;
}

bool json_object_remove(json_value *object, const char *key, json_value *removed) {
    if (object->kind != JSON_OBJECT)
        return false;
    size_t index = find_member(object, key);
    if (index == SIZE_MAX)
        return false;

    json_member *members = object->as.object.members;
    *removed = members[index].value;
    size_t after = object->as.object.count - index - 1;
    memmove(&members[index], &members[index + 1], after * sizeof *members);
    object->as.object.count--;
    return true;
}

void json_object_set(json_arena *arena, json_value *object, const char *key, json_value value) {
    json_value *existing = json_object_get(object, key);
    if (existing != NULL) {
        *existing = value;
        return;
    }

    size_t count = object->as.object.count;
    if (count == object->as.object.capacity) {
        object->as.object.members = grow_array(arena, object->as.object.members, count,
                                               &object->as.object.capacity, sizeof(json_member));
    }
    object->as.object.members[count] = (json_member){key, strlen(key), value};
    object->as.object.count = count + 1;
}

json_value json_string(const char *data, size_t len) {
    json_value value = {.kind = JSON_STRING};
    value.as.text.data = data;
    value.as.text.len = len;
    return value;
}

json_value json_integer(json_arena *arena, int64_t number) {
    char *text = json_arena_alloc(arena, 24);
    int len = snprintf(text, 24, "%" PRId64, number);
    json_value value = {.kind = JSON_NUMBER};
    value.as.text.data = text;
    value.as.text.len = (size_t)len;
    return value;
}

bool json_string_equals(const json_value *value, const char *text) {
    size_t len = strlen(text);
    return value->kind == JSON_STRING && value->as.text.len == len &&
           memcmp(value->as.text.data, text, len) == 0;
}

/* ---- Writer ---- */

uint8_t *json_buffer_extend(json_buffer *buffer, size_t len) {
    if (len > SIZE_MAX - buffer->len)
        abort();
    size_t needed = buffer->len + len;
    if (needed > buffer->capacity) {
        size_t capacity = buffer->capacity < 256 ? 256 : buffer->capacity;
        while (capacity < needed) {
            if (capacity > SIZE_MAX / 2)
                abort();
            capacity *= 2;
        }
        uint8_t *grown = realloc(buffer->data, capacity);
        if (grown == NULL)
            abort();
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    uint8_t *added = buffer->data + buffer->len;
    buffer->len = needed;
    return added;
}

void json_buffer_append(json_buffer *buffer, const void *bytes, size_t len) {
    uint8_t *added = json_buffer_extend(buffer, len);
    if (len != 0)
        memcpy(added, bytes, len);
}

static void append_char(json_buffer *out, char c) {
    json_buffer_append(out, &c, 1);
}

static void write_string(json_buffer *out, const char *data, size_t len) {
    static const char hex[] = "0123456789abcdef";
    append_char(out, '"');

    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)data[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;

        json_buffer_append(out, data + run, i - run);
        run = i + 1;
        char escape[6] = {'\\', 0};
        size_t escape_len = 2;
        switch (c) {
        case '"':
            escape[1] = '"';
            break;
        case '\\':
            escape[1] = '\\';
            break;
        case '\b':
            escape[1] = 'b';
            break;
        case '\f':
            escape[1] = 'f';
            break;
        case '\n':
            escape[1] = 'n';
            break;
        case '\r':
            escape[1] = 'r';
            break;
        case '\t':
            escape[1] = 't';
            break;
        default:
            memcpy(escape, "\\u00", 4);
            escape[4] = hex[c >> 4];
            escape[5] = hex[c & 0xF];
            escape_len = 6;
            break;
        }
        json_buffer_append(out, escape, escape_len);
    }
    json_buffer_append(out, data + run, len - run);

    append_char(out, '"');
}

/* Recursion is bounded because parsed values nest at most JSON_MAX_DEPTH deep. */
void json_write(json_buffer *out, const json_value *value) {
    switch (value->kind) {
    case JSON_NULL:
        json_buffer_append(out, "null", 4);
        return;
    case JSON_FALSE:
        json_buffer_append(out, "false", 5);
        return;
    case JSON_TRUE:
        json_buffer_append(out, "true", 4);
        return;
    case JSON_NUMBER:
        json_buffer_append(out, value->as.text.data, value->as.text.len);
        return;
    case JSON_STRING:
        write_string(out, value->as.text.data, value->as.text.len);
        return;
    case JSON_ARRAY:
        append_char(out, '[');
        for (size_t i = 0; i < value->as.array.count; i++) {
            if (i != 0)
                append_char(out, ',');
            json_write(out, &value->as.array.items[i]);
        }
        append_char(out, ']');
        return;
    case JSON_OBJECT:
        append_char(out, '{');
        for (size_t i = 0; i < value->as.object.count; i++) {
            const json_member *member = &value->as.object.members[i];
            if (i != 0)
                append_char(out, ',');
            write_string(out, member->key, member->key_len);
            append_char(out, ':');
            json_write(out, &member->value);
        }
        append_char(out, '}');
        return;
    }
}
