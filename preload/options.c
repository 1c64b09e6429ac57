/* SPDX-License-Identifier: MIT */
/* The options table: every FARMEM_* variable, its default, parser and help. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pre.h"

FM_HIDDEN struct pre_options pre_opt;

static const char *const log_levels[] = {"error", "warn", "info", "debug",
					 NULL};
static const char *const children_modes[] = {"farmem", "plain", NULL};
static const char *const fallback_modes[] = {"refuse", "passthrough", NULL};
static const char *const victim_modes[] = {"clock", "random", NULL};

#define OFF(f) offsetof(struct pre_options, f)

/* Keep in step with man/farmem.7.md (ENVIRONMENT): a test checks it. */
FM_HIDDEN const struct pre_option pre_option_table[] = {
    {"LOCAL_MEM", PRE_OPT_SIZE, "0", NULL, PRE_LOCAL_MEM_MIN, true,
     OFF(local_mem), "local memory budget for the heap (K/M/G); 0 = no limit"},
    {"REGION", PRE_OPT_SIZE, "1T", NULL, PRE_REGION_MIN, false, OFF(region),
     "address space reserved for the managed heap; the heap cannot "
     "grow beyond it"},
    {"VERBOSE", PRE_OPT_BOOL, "0", NULL, 0, false, OFF(verbose),
     "print the version, every option in force and start-up steps"},
    {"STATS", PRE_OPT_BOOL, "0", NULL, 0, false, OFF(stats),
     "print a statistics table at exit"},
    {"STATS_FILE", PRE_OPT_STRING, "", NULL, 0, false, OFF(stats_file),
     "write the exit statistics to this file (%p = pid) instead of "
     "stderr"},
    {"LOG", PRE_OPT_ENUM, "warn", log_levels, 0, false, OFF(log_level),
     "log level: error, warn, info or debug"},
    {"LOG_FILE", PRE_OPT_STRING, "", NULL, 0, false, OFF(log_file),
     "append log lines to this file instead of stderr"},
    {"CHILDREN", PRE_OPT_ENUM, "farmem", children_modes, 0, false,
     OFF(children),
     "programs the process executes: farmem (each gets its own far "
     "memory runtime) or plain (libc malloc)"},
    {"FALLBACK", PRE_OPT_ENUM, "refuse", fallback_modes, 0, false,
     OFF(fallback),
     "if the runtime cannot start in the main program: refuse (exit "
     "with the reason) or passthrough (run on libc malloc); children "
     "always pass through"},
    {"VICTIM", PRE_OPT_ENUM, "clock", victim_modes, 0, false, OFF(victim),
     "which resident pages are evicted: clock (not faulted in since the "
     "hand last passed) or random (for comparison)"},
    {"MAIN_PID", PRE_OPT_PID, "0", NULL, 0, false, OFF(main_pid),
     "set by farmem-run: the pid of the program it started"},
    {"SERVERS", PRE_OPT_STRING, "", NULL, 0, false, OFF(servers),
     "memory servers, host:port[,host:port...] (farmem-run sets it); "
     "empty = an in-process store, no server"},
    {"TOKEN", PRE_OPT_STRING, "", NULL, 0, false, OFF(token),
     "shared secret presented to farmem-server"},
    {"LIBRARY", PRE_OPT_STRING, "", NULL, 0, false, OFF(library),
     "which libfarmem.so farmem-run preloads"},
};
FM_HIDDEN const size_t pre_option_count =
    sizeof(pre_option_table) / sizeof(pre_option_table[0]);

/* A copy of an option's text: programs may rewrite their environment
 * (redis-server writes its process title over it) while the runtime still
 * reads the values, at exit for FARMEM_STATS_FILE. From a static area
 * (options load before any allocator is up); the value itself past it. */
static const char *keep_string(const char *val)
{
	static char area[4096];
	static size_t used;
	size_t n = strlen(val) + 1;

	if (n > sizeof(area) - used)
		return val;
	memcpy(area + used, val, n);
	used += n;
	return area + used - n;
}

int pre_parse_size(const char *s, size_t *out)
{
	unsigned long long whole = 0, frac = 0, fdiv = 1;
	unsigned shift = 0;
	const char *p = s;

	if (s == NULL)
		return -EINVAL;
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (whole > (~0ULL - d) / 10)
			return -ERANGE;
		whole = whole * 10 + d;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (fdiv < 1000000) {
				frac = frac * 10 + (unsigned)(*p - '0');
				fdiv *= 10;
			}
		}
	}
	switch (*p) {
	case 'k':
	case 'K':
		shift = 10;
		p++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		p++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		p++;
		break;
	case 't':
	case 'T':
		shift = 40;
		p++;
		break;
	default:
		break;
	}
	if (shift && (*p == 'i' || *p == 'I'))
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return -EINVAL;
	if (shift == 0 && frac != 0)
		return -EINVAL; /* fractions of a byte */
	if (shift && whole > (~0ULL >> shift))
		return -ERANGE;
	whole <<= shift;
	if (whole + (frac << shift) / fdiv < whole)
		return -ERANGE;
	whole += (frac << shift) / fdiv;
	if (whole > (unsigned long long)SIZE_MAX)
		return -ERANGE;
	*out = (size_t)whole;
	return 0;
}

int pre_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "on", "true", "y"};
	static const char *const no[] = {"0", "no", "off", "false", "n", ""};

	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	return -EINVAL;
}

char *pre_format_size(size_t n, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;
	double v = (double)n;

	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%zu B", n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

/* Edit distance of short ASCII names, case-insensitive. */
static unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[64], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned ca = (unsigned char)a[i - 1] | 0x20;
			unsigned cb = (unsigned char)b[j - 1] | 0x20;
			unsigned best = diag + (ca != cb);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *pre_option_suggest(const char *name)
{
	const char *best = NULL;
	unsigned best_d = 99;

	for (size_t i = 0; i < pre_option_count; i++) {
		const char *cand = pre_option_table[i].name;
		unsigned d = edit_distance(name, cand);
		/* a name that contains the candidate, or is contained in it */
		if (d > 1 && (strcasestr(name, cand) || strcasestr(cand, name)))
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = cand;
		}
	}
	return best_d <= 3 ? best : NULL;
}

const struct pre_option *pre_option_find(const char *name)
{
	for (size_t i = 0; i < pre_option_count; i++)
		if (strcmp(pre_option_table[i].name, name) == 0)
			return &pre_option_table[i];
	return NULL;
}

static int enum_index(const char *const *choices, const char *s)
{
	for (int i = 0; choices[i]; i++)
		if (strcasecmp(choices[i], s) == 0)
			return i;
	return -1;
}

static void join_choices(const char *const *choices, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; choices[i] && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
				      choices[i]);
}

/* Parses @val for @opt into @o. Returns 0 or -EINVAL (already warned). */
static int option_set(const struct pre_option *opt, const char *val,
		      struct pre_options *o)
{
	char *field = (char *)o + opt->offset;
	char buf[128], mbuf[32];
	size_t sz;
	bool b;
	int idx, rc;

	switch (opt->type) {
	case PRE_OPT_SIZE:
		rc = pre_parse_size(val, &sz);
		/* 0 means "no limit" for the budget only */
		if (rc == 0 && sz < opt->min &&
		    !(sz == 0 && opt->offset == OFF(local_mem))) {
			pre_log(FM_LOG_WARN, "options",
				"FARMEM_%s=%s is below the minimum of %s; "
				"use at least %s%s",
				opt->name, val,
				pre_format_size(opt->min, mbuf, sizeof(mbuf)),
				pre_format_size(opt->min, buf, sizeof(buf)),
				opt->fatal ? "" : " (the default stands)");
			return -EINVAL;
		}
		if (rc) {
			pre_log(FM_LOG_WARN, "options",
				"FARMEM_%s=%s is not a size; write e.g. 512M "
				"or 2G%s",
				opt->name, val,
				opt->fatal ? "" : " (the default stands)");
			return -EINVAL;
		}
		*(size_t *)field = sz;
		return 0;
	case PRE_OPT_BOOL:
		if (pre_parse_bool(val, &b)) {
			pre_log(FM_LOG_WARN, "options",
				"FARMEM_%s=%s is not a boolean; use 1 or 0 "
				"(yes/no, on/off) (the default stands)",
				opt->name, val);
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case PRE_OPT_ENUM:
		idx = enum_index(opt->choices, val);
		if (idx < 0) {
			join_choices(opt->choices, buf, sizeof(buf));
			pre_log(FM_LOG_WARN, "options",
				"FARMEM_%s=%s is not one of: %s (the default "
				"stands)",
				opt->name, val, buf);
			return -EINVAL;
		}
		*(int *)field = idx;
		return 0;
	case PRE_OPT_STRING:
		*(const char **)field = val[0] ? keep_string(val) : NULL;
		return 0;
	case PRE_OPT_PID: {
		char *end;
		long v;
		errno = 0;
		v = strtol(val, &end, 10);
		if (errno || *end || v < 0) {
			pre_log(FM_LOG_WARN, "options",
				"FARMEM_%s=%s is not a process id (the default "
				"stands)",
				opt->name, val);
			return -EINVAL;
		}
		*(long *)field = v;
		return 0;
	}
	}
	return -EINVAL;
}

int pre_options_load(char *const *envp, struct pre_options *o)
{
	int fatal = 0;

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < pre_option_count; i++)
		FM_BUG_ON(option_set(&pre_option_table[i],
				     pre_option_table[i].defval, o) != 0);
	for (char *const *e = envp; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[64];
		size_t len;
		const struct pre_option *opt;

		if (strncmp(*e, "FARMEM_", 7) != 0 || eq == NULL)
			continue;
		len = (size_t)(eq - *e) - 7;
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, *e + 7, len);
		name[len] = '\0';
		opt = pre_option_find(name);
		if (opt == NULL) {
			const char *s = pre_option_suggest(name);
			if (s)
				pre_log(FM_LOG_WARN, "options",
					"unknown variable FARMEM_%s ignored; "
					"did you mean FARMEM_%s?",
					name, s);
			else
				pre_log(FM_LOG_WARN, "options",
					"unknown variable FARMEM_%s ignored; "
					"see man farmem for the list",
					name);
			continue;
		}
		if (option_set(opt, eq + 1, o) && opt->fatal)
			fatal = -EINVAL;
	}
	return fatal;
}

void pre_options_print(const struct pre_options *o)
{
	pre_log(FM_LOG_INFO, "",
		"farmem %s, options in force:", PACKAGE_VERSION);
	for (size_t i = 0; i < pre_option_count; i++) {
		const struct pre_option *opt = &pre_option_table[i];
		const char *field = (const char *)o + opt->offset;
		char buf[64];
		const char *v = buf;

		switch (opt->type) {
		case PRE_OPT_SIZE:
			pre_format_size(*(const size_t *)field, buf,
					sizeof(buf));
			break;
		case PRE_OPT_BOOL:
			v = *(const bool *)field ? "1" : "0";
			break;
		case PRE_OPT_ENUM:
			v = opt->choices[*(const int *)field];
			break;
		case PRE_OPT_STRING:
			v = *(const char *const *)field;
			if (v == NULL)
				v = "(unset)";
			break;
		case PRE_OPT_PID:
			snprintf(buf, sizeof(buf), "%ld", *(const long *)field);
			break;
		}
		pre_log(FM_LOG_INFO, "", "  FARMEM_%-11s %-12s %s", opt->name,
			v, opt->help);
	}
}
