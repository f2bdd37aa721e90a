/* Line scan of agent log blocks: which lines Python has to look at, in one pass of C.
 *
 * Python module ``parsers.linux_agent._linescan``, optional: parsers.linux_agent._block_scan has a
 * Python implementation of the same function (the reference, tested against this one).
 *
 *   scanner = Scanner(needles, codes)     # needles: list of bytes (4 bytes or longer), codes: list of int
 *   out = scanner.scan(block)             # bytes: int64 triples (line start, info, hash), one per reported line
 *
 * A line is reported when it is not *plain*, when it holds a needle, or when it holds a byte Python
 * must decode itself. No line is parsed here: the scan only compares bytes.
 *
 * plain:    the line opens with ``YYYY-MM-DDTHH:MM:SS.ffffffZ (INFO|VERBOSE) <letters> <component> ``
 *           where <component> is Daemon, ExtHandler, LogCollector, Firewall or ``[...]`` (no ``]`` inside),
 *           and the date and time exist in the calendar. Its message starts after that opening.
 *           ``Scanner(needles, codes, shape=1)``: the VMSnapshot extension's Python 3 record instead,
 *           ``YYYY-MM-DD HH:MM:SS.ffffff [...]`` (not empty, no ``]`` inside), the message right after ``]``,
 *           or its Python 2 record, ``YYYY/MM/DD HH:MM:SS [...]`` and a message that does not start with a
 *           digit (a buffered line behind the prefix): *local*, always reported.
 * special:  the line holds a backslash, a byte >= 0x80, a control byte other than tab and CR, or a needle
 *           whose code is -1 (anywhere in the line); a special line has no rank.
 * marked:   the line holds a needle whose code is -2 (anywhere in the line); it keeps its rank.
 * alarm:    the line has the plain shape at level WARNING or ERROR (it is not plain: always reported). Its
 *           *extent* is the lines after it that can only continue it (continuation-safe: empty, opening
 *           with a blank or tab, or with a letter where neither a month name, as a syslog header has, nor
 *           ``word@`` of a shell prompt is), at most MAX_CONTINUATION of them; a special or marked line
 *           among them, or more of them, makes the alarm line special (Python reads such a record).
 * rank:     the smallest code of a needle with code >= 0 lying wholly inside the message (the whole line
 *           when neither plain nor alarm) after trailing blanks, tabs and CRs are cut; RANK_NONE when none.
 * info:     rank | PLAIN << 24 | SPECIAL << 25 | MARKED << 26 | LOCAL << 27 | ALARM << 28
 *           | continuation lines << 32.
 * hash:     of an alarm line: 64-bit FNV-1a, started from the scanner's secret ``key`` (a log cannot be written to
 *           make two records collide without it), of its bytes after the time stamp and of its continuation lines
 *           (each after a newline), never 0; records with equal hashes hold the same bytes (but for the time
 *           stamp) and give equal events. Of a plain agent record (shape 0, not special) that is marked or whose
 *           rank is one of ``shaped`` (``Scanner(..., shaped=[...])``): the same hash of its bytes after the time
 *           stamp with every digit read as ``0`` (its *shape*: records of one shape differ only in which digits
 *           they hold). 0 for other lines.
 *
 * Output: int64 triples (line start, info, hash). FORMAT names this layout (the Python side checks it).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define RANK_NONE 0xFFFFFF
#define PLAIN_BIT (1LL << 24)
#define SPECIAL_BIT (1LL << 25)
#define MARKED_BIT (1LL << 26)
#define LOCAL_BIT (1LL << 27)
#define ALARM_BIT (1LL << 28)
#define CONT_SHIFT 32
#define MAX_CONTINUATION 64
#define FORMAT 4
#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL
#define HASH_BITS 16
#define HASH_SIZE (1u << HASH_BITS)

typedef struct {
    PyObject_HEAD
    int shape; /* 0: an agent record is plain, 1: a VMSnapshot extension record */
    uint64_t key; /* the alarm hash's start (FNV offset basis), chosen at random by the caller */
    Py_ssize_t count;
    unsigned char **needle;
    Py_ssize_t *length;
    int *code;
    uint8_t bitmap[HASH_SIZE / 8];
    uint32_t *bucket_start; /* HASH_SIZE + 1 offsets into bucket_items */
    uint32_t *bucket_items;
    uint8_t *shaped; /* per rank below n_shaped: 1 when its plain records get a shape hash */
    Py_ssize_t n_shaped;
} Scanner;

static inline uint32_t hash4(const unsigned char *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    return (x * 2654435761u) >> (32 - HASH_BITS);
}

static void Scanner_dealloc(Scanner *self) {
    for (Py_ssize_t i = 0; i < self->count && self->needle; i++)
        PyMem_Free(self->needle[i]);
    PyMem_Free(self->needle);
    PyMem_Free(self->length);
    PyMem_Free(self->code);
    PyMem_Free(self->bucket_start);
    PyMem_Free(self->bucket_items);
    PyMem_Free(self->shaped);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    PyObject *needles, *codes, *shaped = NULL;
    int shape = 0;
    static char *kwlist[] = {"needles", "codes", "shape", "key", "shaped", NULL};
    unsigned long long key = FNV_OFFSET;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|iKO", kwlist, &needles, &codes, &shape, &key, &shaped))
        return -1;
    if (shape < 0 || shape > 1) {
        PyErr_SetString(PyExc_ValueError, "shape must be 0 (agent) or 1 (extension)");
        return -1;
    }
    if (self->needle != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner already initialized");
        return -1;
    }
    self->shape = shape;
    self->key = (uint64_t)key;
    if (shaped != NULL && shaped != Py_None) {
        PyObject *ranks = PySequence_Fast(shaped, "shaped must be a sequence");
        if (ranks == NULL)
            return -1;
        Py_ssize_t top = 0, m = PySequence_Fast_GET_SIZE(ranks);
        for (Py_ssize_t i = 0; i < m; i++) {
            long r = PyLong_AsLong(PySequence_Fast_GET_ITEM(ranks, i));
            if (r < 0 || r >= RANK_NONE) {
                Py_DECREF(ranks);
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "shaped rank out of range");
                return -1;
            }
            if (r + 1 > top)
                top = r + 1;
        }
        PyMem_Free(self->shaped);
        self->shaped = PyMem_Calloc(top ? top : 1, 1);
        if (!self->shaped) {
            Py_DECREF(ranks);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < m; i++)
            self->shaped[PyLong_AsLong(PySequence_Fast_GET_ITEM(ranks, i))] = 1;
        self->n_shaped = top;
        Py_DECREF(ranks);
    }
    PyObject *ns = PySequence_Fast(needles, "needles must be a sequence");
    if (ns == NULL)
        return -1;
    PyObject *cs = PySequence_Fast(codes, "codes must be a sequence");
    if (cs == NULL) {
        Py_DECREF(ns);
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(ns);
    if (PySequence_Fast_GET_SIZE(cs) != n) {
        PyErr_SetString(PyExc_ValueError, "needles and codes differ in length");
        goto fail;
    }
    self->needle = PyMem_Calloc(n ? n : 1, sizeof(unsigned char *));
    self->length = PyMem_Calloc(n ? n : 1, sizeof(Py_ssize_t));
    self->code = PyMem_Calloc(n ? n : 1, sizeof(int));
    self->bucket_start = PyMem_Calloc(HASH_SIZE + 1, sizeof(uint32_t));
    self->bucket_items = PyMem_Calloc(n ? n : 1, sizeof(uint32_t));
    if (!self->needle || !self->length || !self->code || !self->bucket_start || !self->bucket_items) {
        PyErr_NoMemory();
        goto fail;
    }
    memset(self->bitmap, 0, sizeof(self->bitmap));
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *b = PySequence_Fast_GET_ITEM(ns, i);
        char *data;
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(b, &data, &len) < 0)
            goto fail;
        if (len < 4) {
            PyErr_SetString(PyExc_ValueError, "needles must be 4 bytes or longer");
            goto fail;
        }
        long code = PyLong_AsLong(PySequence_Fast_GET_ITEM(cs, i));
        if (code == -1 && PyErr_Occurred())
            goto fail;
        if (code < -2 || code >= RANK_NONE) {
            PyErr_SetString(PyExc_ValueError, "code out of range");
            goto fail;
        }
        self->needle[i] = PyMem_Malloc(len);
        if (!self->needle[i]) {
            PyErr_NoMemory();
            goto fail;
        }
        memcpy(self->needle[i], data, len);
        self->length[i] = len;
        self->code[i] = (int)code;
        self->count = i + 1;
        uint32_t h = hash4((unsigned char *)data);
        self->bitmap[h >> 3] |= (uint8_t)(1u << (h & 7));
        self->bucket_start[h + 1]++;
    }
    for (uint32_t h = 0; h < HASH_SIZE; h++)
        self->bucket_start[h + 1] += self->bucket_start[h];
    {
        uint32_t *fill = PyMem_Calloc(HASH_SIZE, sizeof(uint32_t));
        if (!fill) {
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            uint32_t h = hash4(self->needle[i]);
            self->bucket_items[self->bucket_start[h] + fill[h]++] = (uint32_t)i;
        }
        PyMem_Free(fill);
    }
    Py_DECREF(ns);
    Py_DECREF(cs);
    return 0;
fail:
    Py_DECREF(ns);
    Py_DECREF(cs);
    return -1;
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_letter(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static inline int num2(const unsigned char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

static const char DIGITS[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25};

/* Whether p (n bytes available) starts with ``YYYY<d>MM<d>DD<sep>HH:MM:SS`` (19 bytes) whose date and time exist
 * in the calendar. */
static int clock_at(const unsigned char *p, Py_ssize_t n, unsigned char d, unsigned char sep) {
    if (n < 19)
        return 0;
    for (size_t i = 0; i < 14; i++)
        if (!is_digit(p[(int)DIGITS[i]]))
            return 0;
    if (p[4] != d || p[7] != d || p[10] != sep || p[13] != ':' || p[16] != ':')
        return 0;
    int year = num2(p) * 100 + num2(p + 2), month = num2(p + 5), day = num2(p + 8);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year == 0 || month < 1 || month > 12 || day < 1 || num2(p + 11) > 23 || num2(p + 14) > 59 ||
        num2(p + 17) > 59)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= days[month - 1] + (month == 2 && leap);
}

/* Whether p starts with ``YYYY-MM-DD<sep>HH:MM:SS.ffffff`` (26 bytes) of a calendar date and time. */
static int stamp_at(const unsigned char *p, Py_ssize_t n, unsigned char sep) {
    if (n < 26 || !clock_at(p, n, '-', sep) || p[19] != '.')
        return 0;
    for (size_t i = 14; i < sizeof(DIGITS); i++)
        if (!is_digit(p[(int)DIGITS[i]]))
            return 0;
    return 1;
}

/* Offset of the message when the line [p, end) is a plain VMSnapshot extension record, else -1: Python 3's
 * ``YYYY-MM-DD HH:MM:SS.ffffff [prefix]message`` or (``*local`` set) Python 2's ``YYYY/MM/DD HH:MM:SS [prefix]``
 * and a message that does not start with a digit. */
static Py_ssize_t extension_message(const unsigned char *p, const unsigned char *end, int *local) {
    Py_ssize_t n = end - p, at;
    if (n >= 29 && stamp_at(p, n, ' ') && p[26] == ' ' && p[27] == '[')
        at = 28;
    else if (n >= 22 && clock_at(p, n, '/', ' ') && p[19] == ' ' && p[20] == '[')
        at = 21;
    else
        return -1;
    const unsigned char *close = memchr(p + at, ']', n - at);
    if (!close || close == p + at) /* ``[]`` names no component: a continuation line */
        return -1;
    if (at == 21) {
        if (close + 1 < end && is_digit(close[1]))
            return -1;
        *local = 1;
    }
    return close + 1 - p;
}

/* Offset of the message when the line [p, end) has the plain shape, else -1; *alarm: at WARNING or ERROR. */
static Py_ssize_t plain_message(const unsigned char *p, const unsigned char *end, int *alarm) {
    Py_ssize_t n = end - p;
    if (n < 34 || !stamp_at(p, n, 'T') || p[26] != 'Z' || p[27] != ' ')
        return -1;
    Py_ssize_t i = 28;
    *alarm = 0;
    if (n - i >= 5 && memcmp(p + i, "INFO ", 5) == 0)
        i += 5;
    else if (n - i >= 8 && memcmp(p + i, "VERBOSE ", 8) == 0)
        i += 8;
    else if (n - i >= 8 && memcmp(p + i, "WARNING ", 8) == 0) {
        i += 8;
        *alarm = 1;
    } else if (n - i >= 6 && memcmp(p + i, "ERROR ", 6) == 0) {
        i += 6;
        *alarm = 1;
    } else
        return -1;
    Py_ssize_t start = i;
    while (i < n && is_letter(p[i]))
        i++;
    if (i == start || i >= n || p[i] != ' ')
        return -1;
    i++;
    static const char *const COMPONENTS[] = {"Daemon ", "ExtHandler ", "LogCollector ", "Firewall "};
    for (int c = 0; c < 4; c++) {
        Py_ssize_t len = (Py_ssize_t)strlen(COMPONENTS[c]);
        if (n - i >= len && memcmp(p + i, COMPONENTS[c], len) == 0)
            return i + len;
    }
    if (i < n && p[i] == '[') {
        i++;
        while (i < n && p[i] != ']')
            i++;
        if (i + 1 < n && p[i] == ']' && p[i + 1] == ' ')
            return i + 2;
    }
    return -1;
}

/* The line [p, end) can only continue the record before it (the reader folds it in): empty, a blank or tab
 * first, or a letter first where the line is neither behind a syslog header (a month name) nor a shell
 * prompt (``user@host:~$``). */
static int continues(const unsigned char *p, const unsigned char *end) {
    if (p == end || *p == ' ' || *p == '\t' || (*p == '\r' && end - p == 1))
        return 1;
    if (!is_letter(*p))
        return 0;
    if (end - p >= 3) {
        static const char MONTHS[] = "janfebmaraprmayjunjulaugsepoctnovdec";
        char m[3];
        for (int k = 0; k < 3; k++)
            m[k] = (char)(p[k] | 0x20);
        for (int k = 0; k < 36; k += 3)
            if (memcmp(m, MONTHS + k, 3) == 0)
                return 0;
    }
    const unsigned char *q = p;
    while (q < end && (is_letter(*q) || is_digit(*q) || *q == '_' || *q == '.' || *q == '-'))
        q++;
    return q == end || *q != '@';
}

static inline uint64_t fnv(uint64_t h, const unsigned char *p, const unsigned char *end) {
    for (; p < end; p++)
        h = (h ^ *p) * FNV_PRIME;
    return h;
}

static inline uint64_t fnv_shape(uint64_t h, const unsigned char *p, const unsigned char *end) {
    for (; p < end; p++)
        h = (h ^ (is_digit(*p) ? '0' : *p)) * FNV_PRIME;
    return h;
}

static PyObject *Scanner_scan(Scanner *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *base = view.buf, *stop = base + view.len;
    Py_ssize_t cap = 1024, used = 0;
    int64_t *out = PyMem_Malloc(cap * 3 * sizeof(int64_t));
    if (!out) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *p = base;
    Py_ssize_t open = -1; /* the alarm line whose extent may go on */
    while (p < stop) {
        const unsigned char *end = memchr(p, '\n', stop - p);
        if (!end)
            end = stop;
        const unsigned char *eff = end;
        while (eff > p && (eff[-1] == ' ' || eff[-1] == '\t' || eff[-1] == '\r'))
            eff--;
        int local = 0, alarm = 0;
        Py_ssize_t msg = self->shape ? extension_message(p, end, &local) : plain_message(p, end, &alarm);
        int plain = msg >= 0 && !alarm;
        const unsigned char *from = p + (msg >= 0 ? msg : 0);
        int special = 0, marked = 0;
        int rank = RANK_NONE;
        for (const unsigned char *q = p; q < end; q++) {
            unsigned char c = *q;
            if (c == '\\' || c >= 0x80 || (c < 0x20 && c != '\t' && c != '\r')) {
                special = 1;
                break;
            }
            if (end - q < 4)
                continue;
            uint32_t h = hash4(q);
            if (!(self->bitmap[h >> 3] & (1u << (h & 7))))
                continue;
            for (uint32_t k = self->bucket_start[h]; k < self->bucket_start[h + 1]; k++) {
                uint32_t i = self->bucket_items[k];
                Py_ssize_t len = self->length[i];
                if (end - q < len || memcmp(q, self->needle[i], len) != 0)
                    continue;
                int code = self->code[i];
                if (code == -2)
                    marked = 1;
                else if (code < 0)
                    special = 1;
                else if (code < rank && q >= from && q + len <= eff)
                    rank = code;
            }
            if (special)
                break;
        }
        if (special)
            rank = RANK_NONE;
        if (open >= 0) {
            if (msg < 0 && continues(p, end)) { /* folded into the alarm record's extent */
                int64_t n = (out[3 * open + 1] >> CONT_SHIFT) + 1;
                out[3 * open + 1] = (out[3 * open + 1] & ((1LL << CONT_SHIFT) - 1)) | (n << CONT_SHIFT);
                uint64_t h = (uint64_t)out[3 * open + 2];
                h = fnv((h ^ '\n') * FNV_PRIME, p, end);
                out[3 * open + 2] = (int64_t)(h ? h : 1);
                if (special || marked || n >= MAX_CONTINUATION) {
                    out[3 * open + 1] = (out[3 * open + 1] & ~(int64_t)RANK_NONE) | RANK_NONE | SPECIAL_BIT;
                    open = -1;
                }
            } else
                open = -1;
        }
        if (!plain || special || marked || local || rank != RANK_NONE) {
            if (used == cap) {
                int64_t *grown = PyMem_Realloc(out, cap * 6 * sizeof(int64_t));
                if (!grown) {
                    PyMem_Free(out);
                    out = NULL;
                    break;
                }
                out = grown;
                cap *= 2;
            }
            int64_t hash = 0;
            if (alarm) {
                uint64_t h = fnv(self->key, p + 28, end);
                hash = (int64_t)(h ? h : 1);
                if (!special && !marked)
                    open = used;
            } else if (plain && !special && !self->shape &&
                       (marked || (rank < self->n_shaped && self->shaped[rank]))) {
                uint64_t h = fnv_shape(self->key, p + 28, end);
                hash = (int64_t)(h ? h : 1);
            }
            out[3 * used] = p - base;
            out[3 * used + 1] = rank | (plain ? PLAIN_BIT : 0) | (special ? SPECIAL_BIT : 0) | (marked ? MARKED_BIT : 0) |
                                (local ? LOCAL_BIT : 0) | (alarm ? ALARM_BIT : 0);
            out[3 * used + 2] = hash;
            used++;
        }
        p = end + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (!out)
        return PyErr_NoMemory();
    PyObject *result = PyBytes_FromStringAndSize((const char *)out, used * 3 * (Py_ssize_t)sizeof(int64_t));
    PyMem_Free(out);
    return result;
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_O,
     "scan(block) -> bytes of int64 triples (line start, info, hash): see the module's comment"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "parsers.linux_agent._linescan.Scanner",
    .tp_doc = "Scanner(needles, codes): the lines of a block Python has to look at",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_linescan", "Line scan of agent log blocks (see _block_scan.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__linescan(void) {
    if (PyType_Ready(&ScannerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "RANK_NONE", RANK_NONE);
    PyModule_AddIntConstant(m, "FORMAT", FORMAT);
    return m;
}
