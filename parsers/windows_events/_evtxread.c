/* The records of one EVTX chunk read without rendering them: provider, event id, level and time of each.
 *
 * Python module ``parsers.windows_events._evtxread``, optional: the same reader in Python,
 * parsers/windows_events/_evtx_read.py, is the reference it is tested against (read its docstring for what is
 * read and why). Both take exactly the same chunks:
 *
 *   read_chunk(chunk: bytes) -> (keys, hours, earliest, latest, records) | None
 *
 * keys: the distinct (provider, event id, level) of the chunk's records; hours: {FILETIME // HOUR: records};
 * earliest, latest: FILETIMEs; None when anything is not understood (the chunk then goes to the library).
 * Every offset is checked against the chunk, every count is bounded, recursion is at most MAX_DEPTH deep and each
 * template is read once per chunk.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define CHUNK_SIZE 65536u
#define HEADER_SIZE 512u
#define MAX_DEPTH 8
#define MAX_ELEMENTS 64
#define MAX_NAME 255u
#define MAX_INDEXES 128
#define MAX_ATTRIBUTES 8
#define MAX_KEYS 64
#define MAX_HOURS 64
#define MAX_TEMPLATES 64
#define MAX_FILETIME 2650467743999999999ull
#define HOUR 36000000000ull

/* value types */
enum { T_NULL = 0x00, T_STRING = 0x01, T_ANSI = 0x02, T_UINT8 = 0x04, T_UINT16 = 0x06, T_BINARY = 0x0E,
       T_BOOL = 0x0D, T_GUID = 0x0F, T_FILETIME = 0x11, T_SID = 0x13, T_HEX64 = 0x15, T_BINXML = 0x21,
       T_STRINGS = 0x81 };
/* the counted fields; the first six are System elements holding one number */
enum { F_EVENTID, F_VERSION, F_LEVEL, F_TASK, F_OPCODE, F_KEYWORDS, F_QUALIFIERS, F_TIME, F_NAME, F_COUNT };
static const char *const NUMBER_NAMES[6] = {"EventID", "Version", "Level", "Task", "Opcode", "Keywords"};
static const uint8_t NUMBER_TYPES[6] = {T_UINT16, T_UINT8, T_UINT8, T_UINT16, T_UINT8, T_HEX64};
/* System's children up to TimeCreated, in the order the counted openings have them; optional ones flagged */
static const char *const SYSTEM_ORDER[8] = {"Provider", "EventID", "Version", "Level", "Task", "Opcode", "Keywords",
                                            "TimeCreated"};
static const int SYSTEM_OPTIONAL[8] = {0, 0, 1, 0, 1, 1, 1, 0};

static PyObject *ZLIB_CRC32; /* zlib.crc32: several times faster than a table in C */

/* zlib's CRC32 of n bytes at p, continuing crc; -1 with an error set */
static int64_t crc32(const uint8_t *p, size_t n, uint32_t crc) {
    PyObject *view = PyMemoryView_FromMemory((char *)p, (Py_ssize_t)n, PyBUF_READ);
    if (view == NULL)
        return -1;
    PyObject *result = PyObject_CallFunction(ZLIB_CRC32, "NI", view, (unsigned)crc);
    if (result == NULL)
        return -1;
    unsigned long value = PyLong_AsUnsignedLong(result);
    Py_DECREF(result);
    return value == (unsigned long)-1 && PyErr_Occurred() ? -1 : (int64_t)value;
}

static inline uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t u64(const uint8_t *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

typedef struct {
    uint32_t at, len; /* UTF-16 units in the chunk */
} Text;

/* where a template has a field of a notable record (_evtx_notable.py): nothing (written ""), a text, a value */
enum { S_EMPTY, S_TEXT, S_VALUE };
typedef struct {
    uint8_t kind;
    uint16_t index;
    Text text;
} Slot;

#define MAX_ITEMS 64
#define MAX_SUB_AUTHORITIES 15 /* of a SID, as Windows has them */
typedef struct {
    Text name;
    uint8_t is_data; /* a Data element: unnamed unless named */
    uint8_t named;   /* 1 named by its Name attribute, 2 that attribute's text still to come */
    Slot slot;
} Item;

/* the data of a notable record: none, the nested template instance of a value, EventData's or UserData's items */
enum { D_NONE, D_NESTED, D_EVENTDATA, D_USERDATA };

typedef struct {
    uint32_t offset;
    int top;
    int field[F_COUNT]; /* substitution index, or -1 */
    int has_provider;   /* a literal name or the F_NAME substitution */
    Text literal;       /* the literal name when field[F_NAME] < 0 */
    int attr[MAX_ATTRIBUTES];
    Text attr_name[MAX_ATTRIBUTES];
    int attrs;
    int content[MAX_ATTRIBUTES]; /* substitutions that are Event's content after System */
    int contents;
    uint16_t attr_index[MAX_INDEXES]; /* substitutions that are attribute values */
    int attr_indexes;
    uint16_t index[MAX_INDEXES];
    uint8_t optional[MAX_INDEXES];
    int indexes;
    int system_done;
    int prog;        /* 0: the program of a notable record holds (below); -1: no program */
    Slot tail[3];    /* Channel, Computer, EventRecordID */
    int tails;       /* bits of those met */
    int data_mode;   /* D_* */
    uint16_t data_index;
    int inner;       /* UserData's inner element met */
    int nitems;
    Item items[MAX_ITEMS];
} Template;

typedef struct {
    const uint8_t *c;
    uint32_t free;
    Template *templates;
    int count;
} Chunk;

typedef struct {
    uint8_t kind;
    uint32_t at, size;
} Value;

/* UTF-16 without an unpaired surrogate */
static int utf16_ok(const uint8_t *p, uint32_t units) {
    for (uint32_t i = 0; i < units; i++) {
        uint16_t u = u16(p + 2 * i);
        if (u >= 0xD800 && u < 0xDC00) {
            if (i + 1 >= units)
                return 0;
            uint16_t next = u16(p + 2 * (i + 1));
            if (next < 0xDC00 || next >= 0xE000)
                return 0;
            i++;
        } else if (u >= 0xDC00 && u < 0xE000) {
            return 0;
        }
    }
    return 1;
}

/* written into JSON without an escape: not empty, no quote, backslash or control character */
static int plain(const uint8_t *c, Text t) {
    if (t.len == 0)
        return 0;
    for (uint32_t i = 0; i < t.len; i++) {
        uint16_t u = u16(c + t.at + 2 * i);
        if (u < 0x20 || u == '"' || u == '\\')
            return 0;
    }
    return 1;
}

static int text_is(const uint8_t *c, Text t, const char *ascii) {
    size_t n = strlen(ascii);
    if (t.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (u16(c + t.at + 2 * i) != (uint8_t)ascii[i])
            return 0;
    return 1;
}

static int text_has(const uint8_t *c, Text t, uint16_t unit) {
    for (uint32_t i = 0; i < t.len; i++)
        if (u16(c + t.at + 2 * i) == unit)
            return 1;
    return 0;
}

static int text_eq(const uint8_t *c, Text a, Text b) {
    return a.len == b.len && memcmp(c + a.at, c + b.at, 2 * (size_t)a.len) == 0;
}

/* ASCII XML name characters, at least one */
static int name_chars(const uint8_t *c, Text t) {
    for (uint32_t i = 0; i < t.len; i++) {
        uint16_t u = u16(c + t.at + 2 * i);
        if (!((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '_' || u == '.' ||
              u == ':' || u == '-'))
            return 0;
    }
    return t.len > 0;
}

/* the name at offset; *after: past the name when it is stored right at the token (offset == at) */
static int read_name(const uint8_t *c, uint32_t offset, uint32_t at, uint32_t end, Text *name, uint32_t *after) {
    if (offset < HEADER_SIZE || (uint64_t)offset + 8 > end)
        return -1;
    uint32_t count = u16(c + offset + 6);
    if (count > MAX_NAME)
        return -1;
    uint64_t stop = (uint64_t)offset + 8 + 2 * (uint64_t)count;
    if (count == 0 || stop + 2 > end || u16(c + stop) != 0)
        return -1;
    name->at = offset + 8;
    name->len = count;
    if (!name_chars(c, *name)) /* the library writes names into JSON keys as they are */
        return -1;
    *after = offset == at ? (uint32_t)stop + 2 : at;
    return 0;
}

/* what an element of the path is, for the counted places */
enum { P_OTHER, P_EVENT, P_SYSTEM, P_PROVIDER, P_EVENTID, P_TIME, P_NUMBER };

typedef struct {
    int kind;       /* P_* of this element as a place: depth 1 Event, 2 System, 3 a child of System */
    int number;     /* F_* of a P_NUMBER or P_EVENTID */
    int closed;     /* its start was closed (0x02) */
    int children;
    int first_child_system;
    int role;       /* R_*: what it is in the program of a notable record */
    int item;       /* its item, or its tail field */
} Open;

enum { R_NONE, R_EVENT, R_TAIL, R_ROOT, R_INNER, R_ITEM };
enum { A_NONE, A_IGNORE, A_TEXT, A_NAME };
static const char *const TAIL_NAMES[3] = {"Channel", "Computer", "EventRecordID"};

/* an element opened at depth (its parent path[depth - 1]): its role in the program */
static void prog_open(Template *t, const uint8_t *c, Open *path, int depth, Text name, Open *o) {
    o->role = R_NONE;
    o->item = -1;
    if (t->prog < 0)
        return;
    Open *parent = depth ? &path[depth - 1] : NULL;
    if (t->top && depth == 0) {
        o->role = R_EVENT;
    } else if (t->top && depth == 2 && parent->kind == P_SYSTEM) {
        for (int i = 0; i < 3; i++)
            if (text_is(c, name, TAIL_NAMES[i])) {
                if (t->tails & (1 << i)) {
                    t->prog = -1;
                    return;
                }
                t->tails |= 1 << i;
                o->role = R_TAIL;
                o->item = i;
            }
    } else if ((t->top && depth == 1 && parent->children > 0) || (!t->top && depth == 0)) {
        if (t->data_mode != D_NONE)
            t->prog = -1;
        else if (text_is(c, name, "EventData"))
            t->data_mode = D_EVENTDATA;
        else if (text_is(c, name, "UserData"))
            t->data_mode = D_USERDATA;
        else
            t->prog = -1;
        o->role = R_ROOT;
    } else if (parent != NULL && (parent->role == R_ROOT || parent->role == R_INNER)) {
        if (parent->role == R_ROOT && t->data_mode == D_USERDATA) {
            if (t->inner)
                t->prog = -1;
            t->inner = 1;
            o->role = R_INNER;
            return;
        }
        if (t->nitems >= MAX_ITEMS) {
            t->prog = -1;
            return;
        }
        Item *it = &t->items[t->nitems];
        memset(it, 0, sizeof *it);
        it->name = name;
        it->is_data = parent->role == R_ROOT && text_is(c, name, "Data");
        o->role = R_ITEM;
        o->item = t->nitems++;
    } else if (parent != NULL && parent->role != R_NONE && parent->role != R_EVENT) {
        t->prog = -1; /* an element inside a field or an item */
    }
}

/* an attribute of the element path[depth - 1]: how its values count in the program */
static int prog_attribute(Template *t, const uint8_t *c, Open *here, Text attribute) {
    if (t->prog < 0)
        return A_NONE;
    switch (here->role) {
    case R_ROOT:
        if (t->data_mode == D_EVENTDATA)
            return A_IGNORE; /* not data */
        break;
    case R_INNER:
        return A_TEXT;
    case R_ITEM: {
        Item *it = &t->items[here->item];
        if (it->is_data && !it->named && text_is(c, attribute, "Name")) {
            it->named = 2;
            return A_NAME;
        }
        break;
    }
    case R_TAIL:
        break;
    default:
        return A_NONE;
    }
    t->prog = -1;
    return A_NONE;
}

/* a text or value at the element path[depth - 1] (values: of its attribute or content so far) */
static void prog_value(Template *t, const uint8_t *c, Open *here, int has_attribute, int attr_role, int values,
                       Slot s) {
    if (t->prog < 0)
        return;
    if (has_attribute) {
        if (attr_role == A_NAME) {
            Item *it = &t->items[here->item];
            if (s.kind != S_TEXT || values != 1 || !name_chars(c, s.text))
                t->prog = -1;
            it->name = s.text;
            it->named = 1;
        } else if (attr_role == A_TEXT && s.kind != S_TEXT) {
            t->prog = -1;
        }
        return;
    }
    switch (here->role) {
    case R_TAIL:
    case R_ITEM: {
        Slot *slot = here->role == R_TAIL ? &t->tail[here->item] : &t->items[here->item].slot;
        if (slot->kind != S_EMPTY)
            t->prog = -1;
        *slot = s;
        return;
    }
    case R_EVENT: /* Event's content after System: the nested data */
        if (s.kind != S_VALUE || t->data_mode != D_NONE)
            t->prog = -1;
        t->data_mode = D_NESTED;
        t->data_index = s.index;
        return;
    case R_ROOT:
    case R_INNER:
        t->prog = -1;
        return;
    default:
        return;
    }
}

/* at the template's end: names that make one JSON key each */
static void prog_check(Template *t, const uint8_t *c) {
    if (t->prog < 0)
        return;
    if (t->data_mode == D_USERDATA && t->nitems == 0)
        t->prog = -1;
    int named = 0, unnamed = 0;
    for (int i = 0; i < t->nitems; i++) {
        named |= t->items[i].is_data && t->items[i].named;
        unnamed |= t->items[i].is_data && !t->items[i].named;
    }
    if (named && unnamed) /* unnamed Data beside named ones: the library drops them */
        t->prog = -1;
    for (int i = 0; i < t->nitems && t->prog == 0; i++) {
        Item *a = &t->items[i];
        if (a->named == 2 || (a->is_data && a->named && text_is(c, a->name, "Data")))
            t->prog = -1;
        if (a->is_data && !a->named)
            continue;
        for (int j = 0; j < i; j++) {
            Item *b = &t->items[j];
            if (!(b->is_data && !b->named) && text_eq(c, a->name, b->name))
                t->prog = -1;
        }
    }
}


/* a value (literal or substitution) at the top template's current place; returns -1 when not taken */
static int place_value(Template *t, const uint8_t *c, Open *path, int depth, int has_attribute, Text attribute,
                       int literal, Text text, int index, int values) {
    if (depth < 1 || path[0].kind != P_EVENT)
        return -1;
    Open *here = &path[depth - 1];
    if (depth == 1) {
        if (has_attribute) /* an attribute of Event: a plain literal without braces */
            return literal && values == 1 && plain(c, text) && !text_has(c, text, '{') && !text_has(c, text, '}')
                       ? 0 : -1;
        if (literal || !t->system_done || t->contents >= MAX_ATTRIBUTES) /* EventData, UserData after System */
            return -1;
        t->content[t->contents++] = index;
        return 0;
    }
    if (depth == 2) /* text directly in System, or in another child of Event */
        return here->kind == P_SYSTEM ? -1 : 0;
    if (depth > 3 || path[1].kind != P_SYSTEM)
        return 0;
    switch (here->kind) {
    case P_PROVIDER:
        if (!has_attribute || values != 1)
            return -1;
        if (text_is(c, attribute, "Name")) {
            if (t->has_provider)
                return -1;
            t->has_provider = 1;
            if (literal) {
                if (!plain(c, text))
                    return -1;
                t->literal = text;
            } else {
                t->field[F_NAME] = index;
            }
            return 0;
        }
        if (literal)
            return plain(c, text) ? 0 : -1;
        for (int i = 0; i < t->attrs; i++)
            if (text_eq(c, t->attr_name[i], attribute))
                return -1;
        if (t->attrs >= MAX_ATTRIBUTES)
            return -1;
        t->attr_name[t->attrs] = attribute;
        t->attr[t->attrs++] = index;
        return 0;
    case P_EVENTID:
        if (has_attribute) {
            if (literal || values != 1 || !text_is(c, attribute, "Qualifiers") || t->field[F_QUALIFIERS] >= 0)
                return -1;
            t->field[F_QUALIFIERS] = index;
            return 0;
        }
        /* fall through: its content is a number */
    case P_NUMBER:
        if (has_attribute || literal || values != 1 || t->field[here->number] >= 0)
            return -1;
        t->field[here->number] = index;
        return 0;
    case P_TIME:
        if (!has_attribute || literal || values != 1 || !text_is(c, attribute, "SystemTime") || t->field[F_TIME] >= 0)
            return -1;
        t->field[F_TIME] = index;
        return 0;
    default:
        return 0;
    }
}

/* a value type the reader takes (check_value) */
static int known_type(uint8_t kind) {
    return kind <= 0x0A || (kind >= 0x0D && kind <= 0x0F) || kind == T_FILETIME || kind == T_SID || kind == 0x14 ||
           kind == T_HEX64 || kind == T_BINXML || kind == T_STRINGS;
}

/* the template defined at offset: u32 next, GUID, u32 size, then its BinXML */
static int read_template(const uint8_t *c, uint32_t offset, uint32_t end, Template *t) {
    if (offset < HEADER_SIZE || (uint64_t)offset + 24 > end)
        return -1;
    uint32_t size = u32(c + offset + 20);
    uint64_t start = (uint64_t)offset + 24, stop = start + size;
    if (stop > end || size < 5 || c[start] != 0x0F || c[start + 1] != 0x01 || c[start + 2] != 0x01)
        return -1;
    int top = t->top;
    Open path[MAX_ELEMENTS];
    int depth = 0, roots = 0, root_event = 0;
    int has_attribute = 0, values = 0, attr_role = A_NONE;
    int system_state = 0, system_time = 0;
    Text attribute = {0, 0};
    uint64_t p = start + 4;
    for (;;) {
        if (p >= stop)
            return -1;
        uint8_t token = c[p];
        if (token == 0x01 || token == 0x41) {
            if (p + 11 > stop || depth >= MAX_ELEMENTS)
                return -1;
            Text name;
            uint32_t after;
            if (read_name(c, u32(c + p + 7), (uint32_t)p + 11, (uint32_t)stop, &name, &after) < 0)
                return -1;
            p = after + (token == 0x41 ? 4 : 0);
            Open o = {P_OTHER, -1, 0, 0, 0, R_NONE, -1};
            prog_open(t, c, path, depth, name, &o);
            if (depth == 0)
                roots++;
            if (top) {
                if (depth == 0) {
                    root_event = text_is(c, name, "Event");
                    o.kind = P_EVENT;
                } else {
                    Open *parent = &path[depth - 1];
                    if (parent->kind == P_EVENT && parent->children == 0 && !text_is(c, name, "System"))
                        return -1;
                    if (depth == 1 && parent->kind == P_EVENT && parent->children == 0)
                        o.kind = P_SYSTEM;
                    if (depth == 2 && parent->kind == P_SYSTEM) {
                        if (!system_time) { /* the order of System's children up to TimeCreated */
                            while (system_state < 8 && SYSTEM_OPTIONAL[system_state] &&
                                   !text_is(c, name, SYSTEM_ORDER[system_state]))
                                system_state++;
                            if (system_state >= 8 || !text_is(c, name, SYSTEM_ORDER[system_state]))
                                return -1;
                            system_state++;
                            if (system_state == 8)
                                system_time = 1;
                        }
                        if (text_is(c, name, "Provider"))
                            o.kind = P_PROVIDER;
                        else if (text_is(c, name, "TimeCreated"))
                            o.kind = P_TIME;
                        else
                            for (int i = 0; i < 6; i++)
                                if (text_is(c, name, NUMBER_NAMES[i])) {
                                    o.kind = i == F_EVENTID ? P_EVENTID : P_NUMBER;
                                    o.number = i;
                                }
                    }
                    parent->children++;
                }
            }
            path[depth++] = o;
            has_attribute = 0;
            values = 0;
        } else if (token == 0x02) {
            if (depth == 0 || path[depth - 1].closed)
                return -1;
            path[depth - 1].closed = 1;
            has_attribute = 0;
            values = 0;
            p += 1;
        } else if (token == 0x03 || token == 0x04) {
            if (depth == 0 || (token == 0x04) != path[depth - 1].closed)
                return -1;
            Open *here = &path[depth - 1];
            if (top) {
                int content = here->closed ? values : 0;
                if (here->kind == P_SYSTEM) {
                    if (!system_time)
                        return -1;
                    t->system_done = 1;
                } else if (here->kind == P_EVENT && depth == 1) {
                    if (here->children == 0)
                        return -1;
                } else if (here->kind == P_NUMBER || here->kind == P_EVENTID) {
                    if (content != 1 || t->field[here->number] < 0 || here->children)
                        return -1;
                } else if ((here->kind == P_PROVIDER || here->kind == P_TIME) && here->children) {
                    return -1;
                }
            }
            depth--;
            has_attribute = 0;
            values = 0;
            p += 1;
        } else if (token == 0x06 || token == 0x46) {
            if (depth == 0 || path[depth - 1].closed || p + 5 > stop)
                return -1;
            uint32_t after;
            if (read_name(c, u32(c + p + 1), (uint32_t)p + 5, (uint32_t)stop, &attribute, &after) < 0)
                return -1;
            p = after;
            has_attribute = 1;
            values = 0;
            attr_role = prog_attribute(t, c, &path[depth - 1], attribute);
        } else if (token == 0x05 || token == 0x45) {
            if (depth == 0 || p + 4 > stop || c[p + 1] != T_STRING)
                return -1;
            uint32_t count = u16(c + p + 2);
            if (p + 4 + 2 * (uint64_t)count > stop || !utf16_ok(c + p + 4, count))
                return -1;
            Text text = {(uint32_t)p + 4, count};
            p += 4 + 2 * (uint64_t)count;
            values++;
            Slot slot = {S_TEXT, 0, text};
            prog_value(t, c, &path[depth - 1], has_attribute, attr_role, values, slot);
            if (top && place_value(t, c, path, depth, has_attribute, attribute, 1, text, -1, values) < 0)
                return -1;
        } else if (token == 0x0D || token == 0x0E) {
            if (depth == 0 || p + 4 > stop || !known_type(c[p + 3]))
                return -1;
            uint16_t index = u16(c + p + 1);
            p += 4;
            values++;
            Slot slot = {S_VALUE, index, {0, 0}};
            prog_value(t, c, &path[depth - 1], has_attribute, attr_role, values, slot);
            if (has_attribute) {
                int i = 0;
                while (i < t->attr_indexes && t->attr_index[i] != index)
                    i++;
                if (i == t->attr_indexes) {
                    if (t->attr_indexes >= MAX_INDEXES)
                        return -1;
                    t->attr_index[t->attr_indexes++] = index;
                }
            }
            if (top) {
                int i = 0;
                while (i < t->indexes && t->index[i] != index)
                    i++;
                if (i == t->indexes) {
                    if (t->indexes >= MAX_INDEXES)
                        return -1;
                    t->index[i] = index;
                    t->optional[i] = 1;
                    t->indexes++;
                }
                if (token == 0x0D)
                    t->optional[i] = 0;
                Text none = {0, 0};
                if (place_value(t, c, path, depth, has_attribute, attribute, 0, none, index, values) < 0)
                    return -1;
            }
        } else if (token == 0x00) {
            if (depth || roots != 1) /* one root element */
                return -1;
            prog_check(t, c);
            if (top && (!root_event || !t->system_done || t->field[F_LEVEL] < 0 ||
                        t->field[F_EVENTID] < 0 || t->field[F_TIME] < 0 || !t->has_provider))
                return -1;
            return 0;
        } else {
            return -1;
        }
    }
}

static int read_instance(Chunk *ch, uint32_t p, uint32_t stop, int depth, Template **found, Value *values,
                         uint32_t *count_out, uint32_t *after);

static int optional_index(const Template *t, int index) {
    for (int i = 0; i < t->indexes; i++)
        if (t->index[i] == index)
            return t->optional[i];
    return 1;
}

static int check_value(Chunk *ch, uint8_t kind, uint32_t at, uint32_t size, int depth) {
    const uint8_t *c = ch->c;
    int fixed = 0;
    switch (kind) {
    case 0x03: case 0x04: fixed = 1; break;
    case 0x05: case 0x06: fixed = 2; break;
    case 0x07: case 0x08: case 0x0D: case 0x14: fixed = 4; break;
    case 0x09: case 0x0A: case 0x11: case 0x15: fixed = 8; break;
    case 0x0F: fixed = 16; break;
    case T_NULL: case T_BINARY: return 0;
    case T_STRING: case T_STRINGS:
        return size % 2 == 0 && utf16_ok(c + at, size / 2) ? 0 : -1;
    case T_ANSI:
        for (uint32_t i = 0; i < size; i++)
            if (c[at + i] >= 0x80)
                return -1;
        return 0;
    case T_SID:
        return size >= 8 && c[at] == 1 && size == 8 + 4 * (uint32_t)c[at + 1] ? 0 : -1;
    case T_BINXML: {
        if (depth + 1 > MAX_DEPTH)
            return -1;
        uint32_t p = at, stop = at + size, after, n;
        if (p + 4 <= stop && c[p] == 0x0F && c[p + 1] == 0x01 && c[p + 2] == 0x01 && c[p + 3] == 0x00)
            p += 4;
        Template *t;
        if (read_instance(ch, p, stop, depth + 1, &t, NULL, &n, &after) < 0)
            return -1;
        return after < stop && c[after] != 0x00 ? -1 : 0;
    }
    default:
        return -1;
    }
    if (size != (uint32_t)fixed)
        return -1;
    if (kind == T_FILETIME && u64(c + at) > MAX_FILETIME)
        return -1;
    if (kind == T_BOOL && u32(c + at) > 1)
        return -1;
    return 0;
}

/* a template instance at p: its template, its values (when values is not NULL: up to MAX_INDEXES are kept,
 * the rest checked), the offset after it */
static int read_instance(Chunk *ch, uint32_t p, uint32_t stop, int depth, Template **found, Value *values,
                         uint32_t *count_out, uint32_t *after) {
    const uint8_t *c = ch->c;
    if ((uint64_t)p + 10 > stop || c[p] != 0x0C || c[p + 1] != 0x01)
        return -1;
    uint32_t offset = u32(c + p + 6);
    p += 10;
    int top = depth == 0;
    Template *t = NULL;
    for (int i = 0; i < ch->count; i++)
        if (ch->templates[i].offset == offset && ch->templates[i].top == top) {
            t = &ch->templates[i];
            break;
        }
    if (t == NULL) {
        if (offset > p || ch->count >= MAX_TEMPLATES)
            return -1;
        t = &ch->templates[ch->count];
        memset(t, 0, sizeof *t);
        t->offset = offset;
        t->top = top;
        for (int i = 0; i < F_COUNT; i++)
            t->field[i] = -1;
        if (read_template(c, offset, ch->free, t) < 0)
            return -1;
        ch->count++;
    }
    if (offset == p)
        p = offset + 24 + u32(c + offset + 20);
    if ((uint64_t)p + 4 > stop)
        return -1;
    uint32_t count = u32(c + p);
    uint64_t at = (uint64_t)p + 4 + 4 * (uint64_t)count;
    if (at > stop)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *d = c + p + 4 + 4 * i;
        uint32_t size = u16(d);
        uint8_t kind = d[2];
        if (d[3] || at + size > stop)
            return -1;
        if (kind == T_STRINGS) { /* an array expands its element: never in the record's own template, nor an attribute */
            if (depth == 0)
                return -1;
            for (int a = 0; a < t->attr_indexes; a++)
                if (t->attr_index[a] == i)
                    return -1;
        }
        if (check_value(ch, kind, (uint32_t)at, size, depth) < 0)
            return -1;
        if (values != NULL && i < MAX_INDEXES * 2) {
            values[i].kind = kind;
            values[i].at = (uint32_t)at;
            values[i].size = size;
        }
        at += size;
    }
    *found = t;
    *count_out = count;
    *after = (uint32_t)at;
    return 0;
}

#define KEPT_VALUES (MAX_INDEXES * 2)

typedef struct {
    Text provider;
    uint16_t event_id;
    uint8_t level;
} Key;

/* the counted fields of a record, when its opening renders as the counted ones do */
static int opening(const uint8_t *c, const Template *t, const Value *v, uint32_t count, Key *key, uint64_t *ft) {
    for (int f = 0; f < F_COUNT; f++) {
        int index = t->field[f];
        if (index < 0)
            continue;
        if ((uint32_t)index >= count || index >= KEPT_VALUES)
            return -1;
        uint8_t kind = v[index].kind;
        int ok;
        if (f <= F_KEYWORDS)
            ok = kind == NUMBER_TYPES[f];
        else if (f == F_QUALIFIERS)
            ok = kind == T_UINT16 || (kind == T_NULL && optional_index(t, index));
        else if (f == F_TIME)
            ok = kind == T_FILETIME;
        else {
            Text name = {v[index].at, v[index].size / 2};
            ok = kind == T_STRING && plain(c, name);
        }
        if (!ok)
            return -1;
    }
    for (int a = 0; a < t->attrs; a++) {
        int index = t->attr[a];
        if ((uint32_t)index >= count || index >= KEPT_VALUES)
            return -1;
        uint8_t kind = v[index].kind;
        Text text = {v[index].at, v[index].size / 2};
        if (!((kind == T_STRING && plain(c, text)) || kind == T_GUID || (kind == T_NULL && optional_index(t, index))))
            return -1;
    }
    for (int i = 0; i < t->contents; i++) { /* anything but nested BinXML would be written before System */
        int index = t->content[i];
        if ((uint32_t)index >= count || index >= KEPT_VALUES)
            return -1;
        if (!(v[index].kind == T_BINXML || (v[index].kind == T_NULL && optional_index(t, index))))
            return -1;
    }
    if (t->field[F_NAME] >= 0) {
        key->provider.at = v[t->field[F_NAME]].at;
        key->provider.len = v[t->field[F_NAME]].size / 2;
    } else {
        key->provider = t->literal;
    }
    key->event_id = u16(c + v[t->field[F_EVENTID]].at);
    key->level = c[v[t->field[F_LEVEL]].at];
    *ft = u64(c + v[t->field[F_TIME]].at);
    return 0;
}

/* --- notable records: their fields as the library renders them (_evtx_notable.py) --------------------------- */

static PyObject *utf16(const uint8_t *c, uint32_t at, uint32_t units) {
    int little = -1;
    return PyUnicode_DecodeUTF16((const char *)c + at, 2 * (Py_ssize_t)units, "strict", &little);
}

/* a FILETIME as the library's ISO string: microseconds, the rest cut */
static PyObject *iso_time(uint64_t ft) {
    uint64_t us = ft / 10, secs = us / 1000000;
    int64_t z = (int64_t)(secs / 86400) - 134774 + 719468; /* days since 0000-03-01 (from 1601-01-01) */
    uint64_t rem = secs % 86400;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    long long year = (long long)yoe + era * 400 + (month <= 2);
    char buf[40];
    snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%06uZ", year, month, day, (unsigned)(rem / 3600),
             (unsigned)(rem / 60 % 60), (unsigned)(rem % 60), (unsigned)(us % 1000000));
    return PyUnicode_FromString(buf);
}

/* a value as the library writes it into JSON, read back: 1 into *out, 0 not taken, -1 error */
static int render_value(const uint8_t *c, Value v, PyObject **out) {
    const uint8_t *d = c + v.at;
    char buf[512];
    switch (v.kind) {
    case T_NULL:
        *out = Py_NewRef(Py_None);
        return 1;
    case T_STRING: {
        uint32_t units = v.size / 2;
        while (units && u16(d + 2 * (units - 1)) == 0)
            units--;
        for (uint32_t i = 0; i < units; i++) /* a NUL inside is left to the library */
            if (u16(d + 2 * i) == 0)
                return 0;
        *out = utf16(c, v.at, units);
        return *out ? 1 : -1;
    }
    case T_ANSI: {
        uint32_t n = v.size;
        while (n && d[n - 1] == 0)
            n--;
        if (memchr(d, 0, n) != NULL)
            return 0;
        *out = PyUnicode_DecodeASCII((const char *)d, n, "strict");
        return *out ? 1 : -1;
    }
    case 0x03: *out = PyLong_FromLong((int8_t)d[0]); break;
    case 0x05: *out = PyLong_FromLong((int16_t)u16(d)); break;
    case 0x07: *out = PyLong_FromLong((int32_t)u32(d)); break;
    case 0x09: *out = PyLong_FromLongLong((int64_t)u64(d)); break;
    case T_UINT8: *out = PyLong_FromUnsignedLong(d[0]); break;
    case T_UINT16: *out = PyLong_FromUnsignedLong(u16(d)); break;
    case 0x08: *out = PyLong_FromUnsignedLong(u32(d)); break;
    case 0x0A: *out = PyLong_FromUnsignedLongLong(u64(d)); break;
    case T_BOOL: *out = PyBool_FromLong(u32(d) != 0); break;
    case T_BINARY: {
        static const char HEX[] = "0123456789ABCDEF";
        *out = PyUnicode_New(2 * (Py_ssize_t)v.size, 127);
        if (*out == NULL)
            return -1;
        Py_UCS1 *w = PyUnicode_1BYTE_DATA(*out);
        for (uint32_t i = 0; i < v.size; i++) {
            w[2 * i] = HEX[d[i] >> 4];
            w[2 * i + 1] = HEX[d[i] & 15];
        }
        return 1;
    }
    case T_GUID:
        snprintf(buf, sizeof buf, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", u32(d), u16(d + 4), u16(d + 6),
                 d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]);
        *out = PyUnicode_FromString(buf);
        break;
    case T_FILETIME: *out = iso_time(u64(d)); break;
    case T_SID: {
        if (d[1] > MAX_SUB_AUTHORITIES)
            return 0;
        unsigned long long authority = 0;
        for (int i = 2; i < 8; i++)
            authority = authority << 8 | d[i];
        int n = snprintf(buf, sizeof buf, "S-%u-%llu", d[0], authority);
        for (uint32_t i = 0; i < d[1]; i++) /* at most 15 of 11 characters each */
            n += snprintf(buf + n, sizeof buf - n, "-%u", u32(d + 8 + 4 * i));
        *out = PyUnicode_FromString(buf);
        break;
    }
    case 0x14:
        snprintf(buf, sizeof buf, "0x%x", u32(d));
        *out = PyUnicode_FromString(buf);
        break;
    case T_HEX64:
        snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)u64(d));
        *out = PyUnicode_FromString(buf);
        break;
    case T_STRINGS: { /* NUL-terminated strings; one of them is written as a string */
        uint32_t units = v.size / 2;
        if (units && u16(d + 2 * (units - 1)) == 0)
            units--;
        PyObject *list = PyList_New(0);
        if (list == NULL)
            return -1;
        uint32_t start = 0;
        for (uint32_t i = 0; i <= units; i++) {
            if (i < units && u16(d + 2 * i) != 0)
                continue;
            PyObject *part = utf16(c, v.at + 2 * start, i - start);
            if (part == NULL || PyList_Append(list, part) < 0) {
                Py_XDECREF(part);
                Py_DECREF(list);
                return -1;
            }
            Py_DECREF(part);
            start = i + 1;
        }
        if (PyList_GET_SIZE(list) == 1) {
            *out = Py_NewRef(PyList_GET_ITEM(list, 0));
            Py_DECREF(list);
        } else {
            *out = list;
        }
        return 1;
    }
    default:
        return 0;
    }
    return *out ? 1 : -1;
}

static int render_slot(const uint8_t *c, Slot s, const Value *values, uint32_t count, PyObject **out) {
    if (s.kind == S_EMPTY) {
        *out = PyUnicode_FromStringAndSize("", 0);
        return *out ? 1 : -1;
    }
    if (s.kind == S_TEXT) {
        for (uint32_t i = 0; i < s.text.len; i++) /* the library cuts a text at a NUL */
            if (u16(c + s.text.at + 2 * i) == 0)
                return 0;
        *out = utf16(c, s.text.at, s.text.len);
        return *out ? 1 : -1;
    }
    if (s.index >= count || s.index >= MAX_INDEXES * 2)
        return 0;
    return render_value(c, values[s.index], out);
}

/* EventData's or UserData's items as evtx.event_data makes them of the library's JSON */
static int render_items(const uint8_t *c, const Template *t, const Value *values, uint32_t count, PyObject **out) {
    PyObject *named = PyDict_New(), *unnamed = PyList_New(0), *value = NULL, *key = NULL;
    int ok = named && unnamed ? 1 : -1;
    for (int i = 0; i < t->nitems && ok == 1; i++) {
        const Item *it = &t->items[i];
        int anonymous = it->is_data && !it->named;
        if (!anonymous && t->data_mode == D_EVENTDATA && text_is(c, it->name, "Binary"))
            continue;
        ok = render_slot(c, it->slot, values, count, &value);
        if (ok != 1)
            break;
        if (value == Py_None || (PyUnicode_Check(value) && PyUnicode_GET_LENGTH(value) == 0)) {
            if (!it->is_data) { /* null or empty: "" in a Data element, maybe null in another */
                ok = 0;
                break;
            }
            Py_SETREF(value, PyUnicode_FromStringAndSize("", 0));
            if (value == NULL) {
                ok = -1;
                break;
            }
        }
        if (anonymous) {
            ok = PyList_Append(unnamed, value) < 0 ? -1 : 1;
        } else {
            key = utf16(c, it->name.at, it->name.len);
            ok = key && PyDict_SetItem(named, key, value) == 0 ? 1 : -1;
            Py_CLEAR(key);
        }
        Py_CLEAR(value);
    }
    Py_XDECREF(value); /* of an item that stopped the loop */
    if (ok == 1) {
        Py_ssize_t n = PyList_GET_SIZE(unnamed);
        PyObject *u = n == 0 ? NULL : n == 1 ? PyList_GET_ITEM(unnamed, 0) : unnamed;
        int blank = u == NULL || u == Py_None || (PyUnicode_Check(u) && PyUnicode_GET_LENGTH(u) == 0);
        if (t->data_mode == D_USERDATA || (blank && PyDict_GET_SIZE(named))) {
            *out = Py_NewRef(named);
        } else if (blank) {
            *out = Py_NewRef(Py_None);
        } else if (PyDict_GET_SIZE(named)) {
            ok = PyDict_SetItemString(named, "Data", u) < 0 ? -1 : 1;
            *out = Py_NewRef(named);
        } else if (PyList_Check(u)) { /* several unnamed values, or one array */
            *out = Py_NewRef(u);
        } else {
            *out = PyList_New(1);
            if (*out == NULL)
                ok = -1;
            else
                PyList_SET_ITEM(*out, 0, Py_NewRef(u));
        }
        if (ok != 1)
            Py_CLEAR(*out);
    }
    Py_XDECREF(named);
    Py_XDECREF(unnamed);
    return ok;
}

/* (index, provider, event id, level, FILETIME, qualifiers, channel, computer, record id, data) of a notable record:
 * 1 into *out, 0 not taken, -1 error */
static int render_record(Chunk *ch, const Template *t, const Value *v, uint32_t count, uint32_t index, Key *key,
                         uint64_t ft, uint64_t header_id, PyObject **out) {
    const uint8_t *c = ch->c;
    if (t->prog < 0)
        return 0;
    PyObject *qualifiers = NULL, *channel = NULL, *computer = NULL, *rid = NULL, *data = NULL, *provider = NULL;
    int ok = 1;
    int q = t->field[F_QUALIFIERS];
    if (q >= 0 && v[q].kind == T_UINT16)
        qualifiers = PyLong_FromUnsignedLong(u16(c + v[q].at));
    else
        qualifiers = Py_NewRef(Py_None);
    PyObject **texts[2] = {&channel, &computer};
    for (int i = 0; i < 2 && ok == 1; i++) { /* str(value or "") */
        PyObject *raw = NULL;
        ok = render_slot(c, t->tail[i], v, count, &raw);
        if (ok == 1) {
            int truth = PyObject_IsTrue(raw);
            *texts[i] = truth < 0 ? NULL : truth ? PyObject_Str(raw) : PyUnicode_FromStringAndSize("", 0);
            ok = *texts[i] ? 1 : -1;
        }
        Py_XDECREF(raw);
    }
    if (ok == 1)
        ok = render_slot(c, t->tail[2], v, count, &rid);
    if (ok == 1) { /* the record id; none or 0: the record header's */
        if (rid == Py_None || (PyUnicode_Check(rid) && PyUnicode_GET_LENGTH(rid) == 0) ||
            (PyLong_CheckExact(rid) && PyObject_Not(rid) == 1)) {
            Py_SETREF(rid, PyLong_FromUnsignedLongLong(header_id));
            ok = rid ? 1 : -1;
        } else if (!PyLong_CheckExact(rid)) {
            ok = 0;
        }
    }
    if (ok == 1 && t->data_mode == D_NESTED) {
        if (t->data_index >= count || t->data_index >= MAX_INDEXES * 2) {
            ok = 0;
        } else if (v[t->data_index].kind == T_NULL) {
            data = Py_NewRef(Py_None);
        } else if (v[t->data_index].kind != T_BINXML) {
            ok = 0;
        } else {
            Value inner_values[KEPT_VALUES];
            Template *inner;
            uint32_t p = v[t->data_index].at, stop = p + v[t->data_index].size, n, after;
            if (p + 4 <= stop && c[p] == 0x0F && c[p + 1] == 0x01 && c[p + 2] == 0x01 && c[p + 3] == 0x00)
                p += 4;
            if (read_instance(ch, p, stop, 1, &inner, inner_values, &n, &after) < 0 || inner->prog < 0 ||
                (inner->data_mode != D_EVENTDATA && inner->data_mode != D_USERDATA))
                ok = 0;
            else
                ok = render_items(c, inner, inner_values, n, &data);
        }
    } else if (ok == 1 && t->data_mode != D_NONE) {
        ok = render_items(c, t, v, count, &data);
    } else if (ok == 1) {
        data = Py_NewRef(Py_None);
    }
    if (ok == 1) {
        provider = utf16(c, key->provider.at, key->provider.len);
        ok = provider ? 1 : -1;
    }
    if (ok == 1 && qualifiers != NULL) {
        *out = Py_BuildValue("(kOkkKOOOOO)", (unsigned long)index, provider, (unsigned long)key->event_id,
                             (unsigned long)key->level, (unsigned long long)ft, qualifiers, channel, computer, rid,
                             data);
        ok = *out ? 1 : -1;
    } else if (qualifiers == NULL) {
        ok = -1;
    }
    Py_XDECREF(qualifiers);
    Py_XDECREF(channel);
    Py_XDECREF(computer);
    Py_XDECREF(rid);
    Py_XDECREF(data);
    Py_XDECREF(provider);
    return ok;
}

#define MAX_RECORDS (CHUNK_SIZE / 32)
#define MAX_CHAIN 64

static Template *find_template(Chunk *ch, uint32_t offset, int top) {
    for (int i = 0; i < ch->count; i++)
        if (ch->templates[i].offset == offset && ch->templates[i].top == top)
            return &ch->templates[i];
    return NULL;
}

/* a template read into the chunk's cache; NULL when not understood or the cache is full */
static Template *add_template(Chunk *ch, uint32_t offset, int top) {
    if (ch->count >= MAX_TEMPLATES)
        return NULL;
    Template *t = &ch->templates[ch->count];
    memset(t, 0, sizeof *t);
    t->offset = offset;
    t->top = top;
    for (int i = 0; i < F_COUNT; i++)
        t->field[i] = -1;
    if (read_template(ch->c, offset, ch->free, t) < 0)
        return NULL;
    ch->count++;
    return t;
}

/* the chunk header's tables, read by the library before any record: chained names and templates */
static int read_tables(Chunk *ch) {
    const uint8_t *c = ch->c;
    for (int slot = 0; slot < 64; slot++) {
        uint32_t offset = u32(c + 128 + 4 * slot);
        for (int step = 0; offset && step < MAX_CHAIN; step++) {
            Text name;
            uint32_t after;
            if (read_name(c, offset, UINT32_MAX, ch->free, &name, &after) < 0)
                return -1;
            offset = u32(c + offset);
        }
        if (offset)
            return -1;
    }
    for (int slot = 0; slot < 32; slot++) {
        uint32_t offset = u32(c + HEADER_SIZE - 128 + 4 * slot);
        int step = 0;
        for (; offset && step < MAX_CHAIN; step++) {
            if (find_template(ch, offset, 0) == NULL && add_template(ch, offset, 0) == NULL)
                return -1;
            uint32_t following = u32(c + offset);
            if (following == offset)
                break;
            offset = following;
        }
        if (offset && step == MAX_CHAIN)
            return -1;
    }
    return 0;
}

static PyObject *read_chunk(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "read_chunk(chunk, ordinary)");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *ordinary = args[1];
    const uint8_t *c = view.buf;
    static Template templates[MAX_TEMPLATES];
    static uint32_t at_of[MAX_RECORDS], size_of[MAX_RECORDS];
    static uint64_t ft_of[MAX_RECORDS];
    static uint8_t key_of[MAX_RECORDS], padded[MAX_RECORDS];
    Value values[KEPT_VALUES];
    Key keys[MAX_KEYS];
    int verdict[MAX_KEYS];
    uint64_t hour_of[MAX_HOURS], hour_n[MAX_HOURS];
    int nkeys = 0, nhours = 0, last_key = -1;
    uint32_t n = 0;
    PyObject *result = NULL;
    if (view.len != CHUNK_SIZE || memcmp(c, "ElfChnk\0", 8) != 0)
        goto unread;
    uint32_t free_at = u32(c + 48);
    if (free_at < HEADER_SIZE || free_at > CHUNK_SIZE || u32(c + 40) != 128)
        goto unread;
    int64_t head_crc = crc32(c, 120, 0);
    head_crc = head_crc < 0 ? -1 : crc32(c + 128, HEADER_SIZE - 128, (uint32_t)head_crc);
    int64_t data_crc = head_crc < 0 ? -1 : crc32(c + HEADER_SIZE, free_at - HEADER_SIZE, 0);
    if (data_crc < 0)
        goto done;
    if (u32(c + 124) != head_crc || u32(c + 52) != data_crc)
        goto unread;
    uint64_t first_id = u64(c + 24), last_id = u64(c + 32);
    uint32_t last_offset = u32(c + 44);
    Chunk ch = {c, free_at, templates, 0};
    if (read_tables(&ch) < 0)
        goto unread;
    uint32_t p = HEADER_SIZE;
    while (p < free_at) {
        if ((uint64_t)p + 28 > free_at || memcmp(c + p, "**\0\0", 4) != 0 || n >= MAX_RECORDS)
            goto unread;
        uint32_t size = u32(c + p + 4);
        uint64_t stop = (uint64_t)p + size;
        if (size < 32 || stop > free_at || u32(c + stop - 4) != size || first_id > UINT64_MAX - n ||
            u64(c + p + 8) != first_id + n || u64(c + p + 16) > MAX_FILETIME)
            goto unread;
        if (c[p + 24] != 0x0F || c[p + 25] != 0x01 || c[p + 26] != 0x01 || c[p + 27] != 0x00)
            goto unread;
        Template *t;
        uint32_t count, after;
        if (read_instance(&ch, p + 28, (uint32_t)stop - 4, 0, &t, values, &count, &after) < 0)
            goto unread;
        if (after < stop - 4 && c[after] != 0x00)
            goto unread;
        Key key;
        uint64_t ft;
        if (opening(c, t, values, count, &key, &ft) < 0)
            goto unread;
        int k = last_key;
        if (k < 0 || !(keys[k].event_id == key.event_id && keys[k].level == key.level &&
                       text_eq(c, keys[k].provider, key.provider))) {
            for (k = 0; k < nkeys; k++)
                if (keys[k].event_id == key.event_id && keys[k].level == key.level &&
                    text_eq(c, keys[k].provider, key.provider))
                    break;
            if (k == nkeys) {
                if (nkeys >= MAX_KEYS)
                    goto unread;
                keys[nkeys++] = key;
            }
            last_key = k;
        }
        at_of[n] = p;
        padded[n] = after < stop - 4; /* an end token after its values: bytes after it are not read */
        size_of[n] = size;
        ft_of[n] = ft;
        key_of[n] = (uint8_t)k;
        p = (uint32_t)stop;
        n++;
    }
    if (p != free_at || (n && (at_of[n - 1] != last_offset || first_id + n - 1 != last_id)))
        goto unread;
    for (int k = 0; k < nkeys; k++) { /* the verdict of each (provider, event id, level) */
        int little = -1;
        PyObject *name = PyUnicode_DecodeUTF16((const char *)c + keys[k].provider.at,
                                               2 * (Py_ssize_t)keys[k].provider.len, "strict", &little);
        if (name == NULL)
            goto done;
        PyObject *answer = PyObject_CallFunction(ordinary, "NII", name, (unsigned)keys[k].event_id,
                                                 (unsigned)keys[k].level);
        if (answer == NULL)
            goto done;
        verdict[k] = PyObject_IsTrue(answer);
        Py_DECREF(answer);
        if (verdict[k] < 0)
            goto done;
    }
    PyObject *events = PyList_New(0); /* the other records, when every one of them is read here */
    if (events == NULL)
        goto done;
    for (uint32_t r = 0; r < n && events != Py_None; r++) {
        if (verdict[key_of[r]])
            continue;
        Template *t;
        uint32_t count, after;
        PyObject *event = NULL;
        int taken = 0;
        if (read_instance(&ch, at_of[r] + 28, at_of[r] + size_of[r] - 4, 0, &t, values, &count, &after) == 0)
            taken = render_record(&ch, t, values, count, r, &keys[key_of[r]], ft_of[r], first_id + r, &event);
        if (taken < 0 || (taken == 1 && PyList_Append(events, event) < 0)) {
            Py_XDECREF(event);
            Py_DECREF(events);
            goto done;
        }
        Py_XDECREF(event);
        if (taken == 0)
            Py_SETREF(events, Py_NewRef(Py_None));
    }
    uint64_t earliest = MAX_FILETIME + 1, latest = 0;
    uint32_t counted = 0;
    int last_hour = -1;
    for (uint32_t r = 0; r < n; r++) {
        if (!verdict[key_of[r]])
            continue;
        uint64_t ft = ft_of[r], hour = ft / HOUR;
        int h = last_hour;
        if (h < 0 || hour_of[h] != hour) {
            for (h = 0; h < nhours; h++)
                if (hour_of[h] == hour)
                    break;
            if (h == nhours) {
                if (nhours >= MAX_HOURS) {
                    Py_DECREF(events);
                    goto unread;
                }
                hour_of[nhours] = hour;
                hour_n[nhours++] = 0;
            }
            last_hour = h;
        }
        hour_n[h]++;
        earliest = ft < earliest ? ft : earliest;
        latest = ft > latest ? ft : latest;
        counted++;
    }
    {
        PyObject *hours = PyDict_New(), *runs = PyList_New(0), *absorbed = PyDict_New(), *stubbed = NULL;
        if (hours == NULL || runs == NULL || absorbed == NULL)
            goto built;
        for (int h = 0; h < nhours; h++) {
            PyObject *hk = PyLong_FromUnsignedLongLong(hour_of[h]), *hv = PyLong_FromUnsignedLongLong(hour_n[h]);
            int stored = hk && hv ? PyDict_SetItem(hours, hk, hv) : -1;
            Py_XDECREF(hk);
            Py_XDECREF(hv);
            if (stored < 0)
                goto built;
        }
        if (counted && counted < n && events == Py_None) { /* each run of ordinary records: one empty record */
            stubbed = PyBytes_FromStringAndSize((const char *)c, CHUNK_SIZE);
            if (stubbed == NULL)
                goto built;
            uint8_t *out = (uint8_t *)PyBytes_AS_STRING(stubbed);
            for (uint32_t r = 0; r < n;) {
                if (!verdict[key_of[r]]) {
                    r++;
                    continue;
                }
                uint32_t last = r;
                while (last + 1 < n && verdict[key_of[last + 1]])
                    last++;
                /* the run goes into the record before it when that one ends early, else into an empty record */
                uint32_t into = r > 0 && padded[r - 1] ? r - 1 : r;
                uint32_t span = at_of[last] + size_of[last] - at_of[into];
                uint8_t *rec = out + at_of[into];
                rec[4] = span & 0xFF;
                rec[5] = (span >> 8) & 0xFF;
                rec[6] = (span >> 16) & 0xFF;
                rec[7] = (span >> 24) & 0xFF;
                PyObject *length = PyLong_FromUnsignedLong(last - r + 1);
                int added;
                if (into == r) {
                    memcpy(rec + 24, "\x0f\x01\x01\x00\x00", 5);
                    added = length ? PyList_Append(runs, length) : -1;
                } else {
                    PyObject *id = PyLong_FromUnsignedLongLong(first_id + into);
                    added = id && length ? PyDict_SetItem(absorbed, id, length) : -1;
                    Py_XDECREF(id);
                }
                Py_XDECREF(length);
                if (added < 0)
                    goto built;
                r = last + 1;
            }
        } else {
            stubbed = Py_NewRef(Py_None);
        }
        result = Py_BuildValue("(kkOKKOOOO)", (unsigned long)n, (unsigned long)counted, hours,
                               (unsigned long long)earliest, (unsigned long long)latest, stubbed, runs, absorbed,
                               events);
    built:
        Py_XDECREF(events);
        Py_XDECREF(hours);
        Py_XDECREF(runs);
        Py_XDECREF(absorbed);
        Py_XDECREF(stubbed);
        goto done;
    }
unread:
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"read_chunk", (PyCFunction)(void (*)(void))read_chunk, METH_FASTCALL,
     "read_chunk(chunk, ordinary): the plan of a 64 KiB chunk (see _evtx_read.read_chunk), or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_evtxread", NULL, -1, methods};

PyMODINIT_FUNC PyInit__evtxread(void) {
    PyObject *zlib = PyImport_ImportModule("zlib");
    if (zlib == NULL)
        return NULL;
    ZLIB_CRC32 = PyObject_GetAttrString(zlib, "crc32");
    Py_DECREF(zlib);
    if (ZLIB_CRC32 == NULL)
        return NULL;
    return PyModule_Create(&module);
}
