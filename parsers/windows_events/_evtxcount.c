/* The counting path of EVTX records in C: the records of one file that are only counted never reach Python.
 *
 * Python module ``parsers.windows_events._evtxcount``, optional: parsers.windows_events.evtx reads every record
 * in Python when it is not built, and that path is the reference this one is tested against.
 *
 *   raw = next_record(records, verdicts, hours, tally, fromisoformat, utc, held)
 *
 * takes records from ``records`` (the iterator of ``PyEvtxParser.records_json()``) and returns the first one
 * Python must read itself, or None at the end; an error of the iterator is raised as it comes. A record is
 * counted here, and not returned, only when Python would count it the same way (evtx.read):
 *
 *   - its ``data`` is a str holding the time key; the opening before the key is in ``verdicts`` as True;
 *   - its time string (up to the next quote, 13 characters or more, not ending in " UTC") parses with
 *     ``fromisoformat`` to a datetime whose tzinfo is ``utc``, and has a ``T`` at index 10;
 *   - ``hours`` maps its first 13 characters to a [hour, records] list: records is incremented; a missing
 *     one is added as [its time with minutes, seconds and microseconds zero, 1] while ``hours`` holds fewer
 *     than ``held``.
 *
 * ``tally`` is the list [earliest, latest, counted]: the times of counted records widen the first two, the
 * third grows by one with each record counted here, at once (a chunk the library reads meanwhile numbers its
 * records after them). Nothing is changed for a record that is returned.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>

static PyObject *TIME_KEY;  /* "TimeCreated":{"#attributes":{"SystemTime":" */
static PyObject *DATA_KEY;  /* data */
static PyObject *UTC_SUFFIX; /* " UTC" */
static PyObject *ONE;

/* 1: counted; 0: Python reads it (nothing changed); -1: error set. */
static int count_one(PyObject *raw, PyObject *verdicts, PyObject *hours, PyObject *tally, PyObject *fromiso,
                     PyObject *utc, Py_ssize_t held) {
    if (!PyDict_CheckExact(raw))
        return 0;
    PyObject *data = PyDict_GetItemWithError(raw, DATA_KEY); /* borrowed */
    if (data == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyUnicode_CheckExact(data))
        return 0;
    Py_ssize_t length = PyUnicode_GET_LENGTH(data);
    Py_ssize_t at = PyUnicode_Find(data, TIME_KEY, 0, length, 1);
    if (at < 0)
        return at == -2 ? -1 : 0;
    PyObject *opening = PyUnicode_Substring(data, 0, at);
    if (opening == NULL)
        return -1;
    PyObject *verdict = PyDict_GetItemWithError(verdicts, opening); /* borrowed */
    Py_DECREF(opening);
    if (verdict != Py_True)
        return PyErr_Occurred() ? -1 : 0;
    Py_ssize_t start = at + PyUnicode_GET_LENGTH(TIME_KEY);
    Py_ssize_t end = PyUnicode_FindChar(data, '"', start, length, 1);
    if (end < 0)
        return end == -2 ? -1 : 0;
    if (end - start < 13 || PyUnicode_READ_CHAR(data, start + 10) != 'T')
        return 0;
    PyObject *text = PyUnicode_Substring(data, start, end);
    if (text == NULL)
        return -1;
    Py_ssize_t utc_suffix = PyUnicode_Tailmatch(text, UTC_SUFFIX, 0, end - start, 1);
    if (utc_suffix != 0) {
        Py_DECREF(text);
        return utc_suffix < 0 ? -1 : 0;
    }
    PyObject *ts = PyObject_CallOneArg(fromiso, text);
    Py_DECREF(text);
    if (ts == NULL) {
        if (PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            return 0;
        }
        return -1;
    }
    int counted = 0;
    PyObject *key = NULL;
    if (!PyDateTime_Check(ts) || PyDateTime_DATE_GET_TZINFO(ts) != utc)
        goto done;
    key = PyUnicode_Substring(data, start, start + 13);
    if (key == NULL) {
        counted = -1;
        goto done;
    }
    PyObject *bucket = PyDict_GetItemWithError(hours, key); /* borrowed */
    if (bucket == NULL) {
        if (PyErr_Occurred()) {
            counted = -1;
            goto done;
        }
        if (PyDict_GET_SIZE(hours) >= held) /* Python hands the tally over first */
            goto done;
        PyObject *hour = PyDateTimeAPI->DateTime_FromDateAndTime(
            PyDateTime_GET_YEAR(ts), PyDateTime_GET_MONTH(ts), PyDateTime_GET_DAY(ts), PyDateTime_DATE_GET_HOUR(ts),
            0, 0, 0, utc, PyDateTimeAPI->DateTimeType);
        PyObject *created = hour ? PyList_New(2) : NULL;
        if (created == NULL) {
            Py_XDECREF(hour);
            counted = -1;
            goto done;
        }
        PyList_SET_ITEM(created, 0, hour); /* steals */
        PyList_SET_ITEM(created, 1, Py_NewRef(ONE));
        int stored = PyDict_SetItem(hours, key, created);
        Py_DECREF(created);
        if (stored < 0) {
            counted = -1;
            goto done;
        }
    } else {
        if (!PyList_CheckExact(bucket) || PyList_GET_SIZE(bucket) != 2)
            goto done;
        PyObject *records = PyNumber_Add(PyList_GET_ITEM(bucket, 1), ONE);
        if (records == NULL) {
            counted = -1;
            goto done;
        }
        PyList_SetItem(bucket, 1, records); /* steals */
    }
    counted = 1;
    int earlier = PyObject_RichCompareBool(ts, PyList_GET_ITEM(tally, 0), Py_LT);
    if (earlier > 0) {
        Py_INCREF(ts);
        PyList_SetItem(tally, 0, ts);
    }
    int later = PyObject_RichCompareBool(ts, PyList_GET_ITEM(tally, 1), Py_GT);
    if (later > 0) {
        Py_INCREF(ts);
        PyList_SetItem(tally, 1, ts);
    }
    if (earlier < 0 || later < 0)
        counted = -1;
done:
    Py_XDECREF(key);
    Py_DECREF(ts);
    return counted;
}

static PyObject *next_record(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "next_record(records, verdicts, hours, tally, fromisoformat, utc, held)");
        return NULL;
    }
    Py_ssize_t held = PyLong_AsSsize_t(args[6]);
    if (held == -1 && PyErr_Occurred())
        return NULL;
    PyObject *records = args[0], *verdicts = args[1], *hours = args[2], *tally = args[3];
    if (!PyIter_Check(records) || !PyDict_CheckExact(verdicts) || !PyDict_CheckExact(hours) ||
        !PyList_CheckExact(tally) || PyList_GET_SIZE(tally) != 3) {
        PyErr_SetString(PyExc_TypeError, "next_record: an iterator, two dicts and a list of three");
        return NULL;
    }
    PyObject *result = NULL;
    for (;;) {
        PyObject *raw = PyIter_Next(records);
        if (raw == NULL) {
            if (!PyErr_Occurred())
                result = Py_NewRef(Py_None);
            break;
        }
        int r = count_one(raw, verdicts, hours, tally, args[4], args[5], held);
        if (r == 1) { /* numbered at once: a chunk the library reads next numbers its records after it */
            Py_DECREF(raw);
            PyObject *sum = PyNumber_Add(PyList_GET_ITEM(tally, 2), ONE);
            if (sum == NULL)
                break;
            PyList_SetItem(tally, 2, sum);
            continue;
        }
        if (r < 0)
            Py_DECREF(raw);
        else
            result = raw;
        break;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"next_record", (PyCFunction)(void (*)(void))next_record, METH_FASTCALL,
     "next_record(records, verdicts, hours, tally, fromisoformat, utc, held): the next record Python must read"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_evtxcount", NULL, -1, methods};

PyMODINIT_FUNC PyInit__evtxcount(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    TIME_KEY = PyUnicode_InternFromString("\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"");
    DATA_KEY = PyUnicode_InternFromString("data");
    UTC_SUFFIX = PyUnicode_InternFromString(" UTC");
    ONE = PyLong_FromLong(1);
    if (TIME_KEY == NULL || DATA_KEY == NULL || UTC_SUFFIX == NULL || ONE == NULL)
        return NULL;
    return PyModule_Create(&module);
}
