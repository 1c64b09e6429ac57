/* SPDX-License-Identifier: MIT */
/* Unit tests of the options table, its parsers and the man page's list. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "preload/pre.h"

#ifndef FM_TOP_SRCDIR
#define FM_TOP_SRCDIR "."
#endif

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)
#define TiB ((size_t)1 << 40)

/* ---- capturing the log ------------------------------------------------- */

static char log_path[] = "/tmp/farmem-test-options-XXXXXX";
static int log_fd = -1;

/* Sends pre_log lines to a fresh temporary file. */
static int log_capture(void **state)
{
	(void)state;
	strcpy(log_path, "/tmp/farmem-test-options-XXXXXX");
	log_fd = mkstemp(log_path);
	if (log_fd < 0)
		return -1;
	return pre_log_open(log_path);
}

static int log_release(void **state)
{
	(void)state;
	pre_log_open(NULL);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	unlink(log_path);
	return 0;
}

/* The log so far, NUL-terminated, in a static buffer. */
static const char *log_text(void)
{
	static char buf[16384];
	ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void assert_logged(const char *what)
{
	const char *log = log_text();

	if (strstr(log, what) == NULL)
		fail_msg("expected \"%s\" in the log, got:\n%s", what, log);
}

/* ---- pre_parse_size ---------------------------------------------------- */

static void expect_size(const char *s, size_t want)
{
	size_t got = 12345;
	int rc = pre_parse_size(s, &got);

	if (rc != 0)
		fail_msg("pre_parse_size(\"%s\") = %d, want 0", s, rc);
	if (got != want)
		fail_msg("pre_parse_size(\"%s\") gave %zu, want %zu", s, got,
			 want);
}

static void expect_size_error(const char *s, int want_rc)
{
	size_t got = 12345;
	int rc = pre_parse_size(s, &got);

	if (rc != want_rc)
		fail_msg("pre_parse_size(\"%s\") = %d, want %d", s ? s : "NULL",
			 rc, want_rc);
	/* a failed parse leaves the output alone */
	assert_int_equal(got, 12345);
}

static void parse_size_plain(void **state)
{
	(void)state;
	expect_size("0", 0);
	expect_size("1", 1);
	expect_size("123", 123);
	expect_size("4096", 4096);
	expect_size("1099511627776", TiB);
}

static void parse_size_units(void **state)
{
	(void)state;
	expect_size("64K", 64 * KiB);
	expect_size("2M", 2 * MiB);
	expect_size("2G", 2 * GiB);
	expect_size("1T", TiB);
	expect_size("0K", 0);
	expect_size("1024G", 1024 * GiB);
}

static void parse_size_long_units(void **state)
{
	(void)state;
	expect_size("1KiB", KiB);
	expect_size("512MB", 512 * MiB);
	expect_size("512MiB", 512 * MiB);
	expect_size("1GiB", GiB);
	expect_size("3GB", 3 * GiB);
	expect_size("2TiB", 2 * TiB);
	expect_size("8KB", 8 * KiB);
}

static void parse_size_fractions(void **state)
{
	(void)state;
	expect_size("1.5G", GiB + GiB / 2);
	expect_size("1.5GiB", GiB + GiB / 2);
	expect_size("0.5K", 512);
	expect_size("1.25M", MiB + MiB / 4);
	expect_size("2.0T", 2 * TiB);
	expect_size("0.5T", TiB / 2);
}

static void parse_size_case(void **state)
{
	(void)state;
	expect_size("64k", 64 * KiB);
	expect_size("2m", 2 * MiB);
	expect_size("2g", 2 * GiB);
	expect_size("1t", TiB);
	expect_size("1kib", KiB);
	expect_size("1KIB", KiB);
	expect_size("512mb", 512 * MiB);
	expect_size("1gIb", GiB);
}

static void parse_size_garbage(void **state)
{
	(void)state;
	expect_size_error("abc", -EINVAL);
	expect_size_error("12abc", -EINVAL);
	expect_size_error("G", -EINVAL);
	expect_size_error("1X", -EINVAL);
	expect_size_error("1GG", -EINVAL);
	expect_size_error("1GiBB", -EINVAL);
	expect_size_error("1iB", -EINVAL);
	expect_size_error("0x10", -EINVAL);
	expect_size_error("1.G", -EINVAL);
	expect_size_error(".5G", -EINVAL);
	expect_size_error("1..5G", -EINVAL);
	expect_size_error("1.5", -EINVAL); /* a fraction of a byte */
	expect_size_error("1 2", -EINVAL);
	expect_size_error("1e6", -EINVAL);
}

static void parse_size_empty(void **state)
{
	(void)state;
	expect_size_error("", -EINVAL);
	expect_size_error("   ", -EINVAL);
	expect_size_error(NULL, -EINVAL);
}

static void parse_size_negative(void **state)
{
	(void)state;
	expect_size_error("-1", -EINVAL);
	expect_size_error("-1G", -EINVAL);
	expect_size_error("-0", -EINVAL);
	expect_size_error("+1G", -EINVAL);
}

static void parse_size_overflow(void **state)
{
	(void)state;
	expect_size_error("99999999999999999999", -ERANGE);
	expect_size_error("999999999999999999999999999999", -ERANGE);
	expect_size_error("18446744073709551616", -ERANGE); /* 2^64 */
	expect_size_error("16777216T", -ERANGE);	    /* 2^64 */
	expect_size_error("17179869184G", -ERANGE);	    /* 2^64 */
	expect_size_error("18014398509481984K", -ERANGE);   /* 2^64 */
	expect_size_error("99999999999T", -ERANGE);
	/* the largest multiples that fit */
	expect_size("16777215T", (size_t)16777215 << 40);
	expect_size("17179869183G", (size_t)17179869183 << 30);
}

/* Every value of size_t is a size: 2^64 - 1 written out must parse. */
static void parse_size_max_value(void **state)
{
	(void)state;
	expect_size("18446744073709551615", SIZE_MAX);
	expect_size("18446744073709551610", SIZE_MAX - 5);
}

/* ---- pre_parse_bool ---------------------------------------------------- */

static void expect_bool(const char *s, bool want)
{
	bool got = !want;
	int rc = pre_parse_bool(s, &got);

	if (rc != 0)
		fail_msg("pre_parse_bool(\"%s\") = %d, want 0", s, rc);
	if (got != want)
		fail_msg("pre_parse_bool(\"%s\") gave %d, want %d", s, got,
			 want);
}

static void expect_bool_error(const char *s)
{
	bool got = true;

	if (pre_parse_bool(s, &got) != -EINVAL)
		fail_msg("pre_parse_bool(\"%s\") accepted", s ? s : "NULL");
	assert_true(got);
	got = false;
	assert_int_equal(pre_parse_bool(s, &got), -EINVAL);
	assert_false(got);
}

static void parse_bool_values(void **state)
{
	(void)state;
	expect_bool("1", true);
	expect_bool("yes", true);
	expect_bool("on", true);
	expect_bool("true", true);
	expect_bool("0", false);
	expect_bool("no", false);
	expect_bool("off", false);
	expect_bool("false", false);
}

static void parse_bool_case(void **state)
{
	(void)state;
	expect_bool("YES", true);
	expect_bool("On", true);
	expect_bool("TRUE", true);
	expect_bool("No", false);
	expect_bool("OFF", false);
	expect_bool("False", false);
}

static void parse_bool_garbage(void **state)
{
	(void)state;
	expect_bool_error("2");
	expect_bool_error("-1");
	expect_bool_error("maybe");
	expect_bool_error("yess");
	expect_bool_error("10");
	expect_bool_error("on ");
	expect_bool_error(NULL);
}

/* ---- pre_option_suggest / pre_option_find ------------------------------- */

static void option_suggest(void **state)
{
	const char *s;

	(void)state;
	s = pre_option_suggest("LOCALMEM");
	assert_non_null(s);
	assert_string_equal(s, "LOCAL_MEM");
	s = pre_option_suggest("VERBSE");
	assert_non_null(s);
	assert_string_equal(s, "VERBOSE");
	s = pre_option_suggest("verbose");
	assert_non_null(s);
	assert_string_equal(s, "VERBOSE");
	s = pre_option_suggest("REGOIN");
	assert_non_null(s);
	assert_string_equal(s, "REGION");
	s = pre_option_suggest("STAT");
	assert_non_null(s);
	assert_string_equal(s, "STATS");
	assert_null(pre_option_suggest("QWERTYUIOPZXCV"));
	assert_null(pre_option_suggest("XYZZYPLUGH"));
}

static void option_find(void **state)
{
	(void)state;
	for (size_t i = 0; i < pre_option_count; i++)
		assert_ptr_equal(pre_option_find(pre_option_table[i].name),
				 &pre_option_table[i]);
	assert_null(pre_option_find("VERBSE"));
	assert_null(pre_option_find(""));
	/* names are exact: FARMEM_verbose is not FARMEM_VERBOSE */
	assert_null(pre_option_find("verbose"));
}

/* The table is well formed: unique names, help, defaults, enum choices. */
static void option_table_sane(void **state)
{
	(void)state;
	assert_true(pre_option_count >= 10);
	for (size_t i = 0; i < pre_option_count; i++) {
		const struct pre_option *o = &pre_option_table[i];

		assert_non_null(o->name);
		assert_non_null(o->defval);
		assert_non_null(o->help);
		assert_true(strlen(o->help) > 10);
		assert_true(o->offset < sizeof(struct pre_options));
		if (o->type == PRE_OPT_ENUM)
			assert_non_null(o->choices);
		for (size_t j = i + 1; j < pre_option_count; j++)
			assert_string_not_equal(o->name,
						pre_option_table[j].name);
	}
}

static void format_size(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(pre_format_size(0, buf, sizeof(buf)), "0 B");
	assert_string_equal(pre_format_size(1000, buf, sizeof(buf)), "1000 B");
	assert_string_equal(pre_format_size(1536, buf, sizeof(buf)), "1.5 KiB");
	assert_string_equal(pre_format_size(64 * MiB, buf, sizeof(buf)),
			    "64.0 MiB");
	assert_string_equal(pre_format_size(TiB, buf, sizeof(buf)), "1.0 TiB");
}

/* ---- pre_options_load --------------------------------------------------- */

static void load_defaults_into(struct pre_options *o)
{
	char *envp[] = {NULL};

	assert_int_equal(pre_options_load(envp, o), 0);
}

static void options_defaults(void **state)
{
	struct pre_options o, o2;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	load_defaults_into(&o);
	assert_int_equal(o.local_mem, 0);
	assert_int_equal(o.region, TiB);
	assert_false(o.verbose);
	assert_false(o.stats);
	assert_null(o.stats_file);
	assert_int_equal(o.log_level, FM_LOG_WARN);
	assert_null(o.log_file);
	assert_int_equal(o.children, PRE_CHILDREN_FARMEM);
	assert_int_equal(o.fallback, PRE_FALLBACK_REFUSE);
	assert_int_equal(o.main_pid, 0);
	/* a NULL environment is an empty one */
	memset(&o2, 0x5a, sizeof(o2));
	assert_int_equal(pre_options_load(NULL, &o2), 0);
	assert_memory_equal(&o, &o2, sizeof(o));
	assert_string_equal(log_text(), "");
}

static void options_each_type(void **state)
{
	char *envp[] = {
	    "PATH=/usr/bin:/bin",    "FARMEM_LOCAL_MEM=1G",
	    "FARMEM_REGION=4G",	     "FARMEM_VERBOSE=yes",
	    "FARMEM_STATS=on",	     "FARMEM_STATS_FILE=/tmp/stats.%p",
	    "FARMEM_LOG=DEBUG",	     "FARMEM_LOG_FILE=/tmp/farmem.log",
	    "FARMEM_CHILDREN=plain", "FARMEM_FALLBACK=passthrough",
	    "FARMEM_MAIN_PID=4242",  NULL,
	};
	struct pre_options o;

	(void)state;
	assert_int_equal(pre_options_load(envp, &o), 0);
	assert_int_equal(o.local_mem, GiB);
	assert_int_equal(o.region, 4 * GiB);
	assert_true(o.verbose);
	assert_true(o.stats);
	assert_non_null(o.stats_file);
	assert_string_equal(o.stats_file, "/tmp/stats.%p");
	assert_int_equal(o.log_level, FM_LOG_DEBUG);
	assert_non_null(o.log_file);
	assert_string_equal(o.log_file, "/tmp/farmem.log");
	assert_int_equal(o.children, PRE_CHILDREN_PLAIN);
	assert_int_equal(o.fallback, PRE_FALLBACK_PASSTHROUGH);
	assert_int_equal(o.main_pid, 4242);
	assert_string_equal(log_text(), "");
}

/* The last of two settings wins; an empty string is "unset". */
static void options_override_and_empty(void **state)
{
	char *envp[] = {
	    "FARMEM_STATS=1",
	    "FARMEM_STATS=0",
	    "FARMEM_LOG=error",
	    "FARMEM_LOG=info",
	    "FARMEM_STATS_FILE=",
	    "FARMEM_LOCAL_MEM=0",
	    NULL,
	};
	struct pre_options o;

	(void)state;
	assert_int_equal(pre_options_load(envp, &o), 0);
	assert_false(o.stats);
	assert_int_equal(o.log_level, FM_LOG_INFO);
	assert_null(o.stats_file);
	assert_int_equal(o.local_mem, 0);
}

static void expect_bad_keeps_default(const char *setting, const char *var)
{
	char *envp[] = {(char *)setting, NULL};
	struct pre_options o, def;

	load_defaults_into(&def);
	memset(&o, 0, sizeof(o));
	if (pre_options_load(envp, &o) != 0)
		fail_msg("%s made the options fatal", setting);
	if (memcmp(&o, &def, sizeof(o)) != 0)
		fail_msg("%s changed the options", setting);
	assert_logged(var);
}

static void options_bad_value_keeps_default(void **state)
{
	(void)state;
	expect_bad_keeps_default("FARMEM_REGION=abc", "FARMEM_REGION");
	expect_bad_keeps_default("FARMEM_REGION=-5G", "FARMEM_REGION");
	expect_bad_keeps_default("FARMEM_REGION=99999999999999999999",
				 "FARMEM_REGION");
	expect_bad_keeps_default("FARMEM_VERBOSE=maybe", "FARMEM_VERBOSE");
	expect_bad_keeps_default("FARMEM_STATS=2", "FARMEM_STATS");
	expect_bad_keeps_default("FARMEM_LOG=loud", "FARMEM_LOG");
	expect_bad_keeps_default("FARMEM_CHILDREN=none", "FARMEM_CHILDREN");
	expect_bad_keeps_default("FARMEM_FALLBACK=yes", "FARMEM_FALLBACK");
	expect_bad_keeps_default("FARMEM_MAIN_PID=-3", "FARMEM_MAIN_PID");
	expect_bad_keeps_default("FARMEM_MAIN_PID=12x", "FARMEM_MAIN_PID");
}

/* The warning says what a good value looks like, and that the default
 * stands. */
static void options_bad_value_message(void **state)
{
	char *envp[] = {"FARMEM_REGION=lots", NULL};
	struct pre_options o;

	(void)state;
	assert_int_equal(pre_options_load(envp, &o), 0);
	assert_logged("FARMEM_REGION=lots");
	assert_logged("default stands");
}

static void options_local_mem_fatal(void **state)
{
	char *envp[] = {"FARMEM_LOCAL_MEM=abc", NULL};
	struct pre_options o;

	(void)state;
	assert_int_equal(pre_options_load(envp, &o), -EINVAL);
	assert_logged("FARMEM_LOCAL_MEM");
	/* the other options are still loaded */
	assert_int_equal(o.region, TiB);
}

static void options_below_minimum(void **state)
{
	char *fatal[] = {"FARMEM_LOCAL_MEM=1M", NULL};
	char *mild[] = {"FARMEM_REGION=1M", NULL};
	char *ok[] = {"FARMEM_LOCAL_MEM=16M", "FARMEM_REGION=64M", NULL};
	struct pre_options o;

	(void)state;
	/* a budget too small to run: refuse */
	assert_int_equal(pre_options_load(fatal, &o), -EINVAL);
	assert_logged("FARMEM_LOCAL_MEM=1M");
	assert_logged("minimum");
	/* a region too small: warn, keep the default */
	assert_int_equal(pre_options_load(mild, &o), 0);
	assert_int_equal(o.region, TiB);
	assert_logged("FARMEM_REGION=1M");
	/* the minimums themselves are accepted */
	assert_int_equal(pre_options_load(ok, &o), 0);
	assert_int_equal(o.local_mem, PRE_LOCAL_MEM_MIN);
	assert_int_equal(o.region, PRE_REGION_MIN);
}

/*
 * FARMEM_REGION=0 cannot be honoured (the region must hold two 32 MiB
 * segments): it is a value below the minimum like any other, warned about,
 * and the default stands. (0 means "no limit" for FARMEM_LOCAL_MEM only.)
 */
static void options_region_zero_rejected(void **state)
{
	char *envp[] = {"FARMEM_REGION=0", NULL};
	struct pre_options o;

	(void)state;
	assert_int_equal(pre_options_load(envp, &o), 0);
	assert_true(o.region >= PRE_REGION_MIN);
	assert_logged("FARMEM_REGION");
}

static void options_unknown_name(void **state)
{
	char *envp[] = {
	    "FARMEM_VERBSE=1",
	    "FARMEM_QWERTYUIOPZXCV=7",
	    "FARMEM_verbose=1",
	    "FARMEM_=1",
	    "FARMEM_VERBOSE",  /* no '=': not a setting */
	    "FARMEMVERBOSE=1", /* no prefix */
	    "XFARMEM_VERBOSE=1",
	    "FARMEM_"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "=1",
	    NULL,
	};
	struct pre_options o, def;

	(void)state;
	load_defaults_into(&def);
	assert_int_equal(pre_options_load(envp, &o), 0);
	assert_memory_equal(&o, &def, sizeof(o));
	assert_logged("FARMEM_VERBSE");
	assert_logged("did you mean FARMEM_VERBOSE?");
	assert_logged("FARMEM_QWERTYUIOPZXCV");
}

/* pre_options_print lists every option by its variable name. */
static void options_print_all(void **state)
{
	struct pre_options o;

	(void)state;
	load_defaults_into(&o);
	pre_options_print(&o);
	assert_logged(PACKAGE_VERSION);
	for (size_t i = 0; i < pre_option_count; i++) {
		char var[80];
		snprintf(var, sizeof(var), "FARMEM_%s ",
			 pre_option_table[i].name);
		assert_logged(var);
	}
}

/* ---- the man page lists the table --------------------------------------- */

/* Does @text contain FARMEM_<name> as a whole word? */
static bool mentions_variable(const char *text, const char *name)
{
	char var[80];
	size_t len;

	snprintf(var, sizeof(var), "FARMEM_%s", name);
	len = strlen(var);
	for (const char *p = text; (p = strstr(p, var)) != NULL; p += len) {
		char c = p[len];
		if (!(c == '_' || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
			return true;
	}
	return false;
}

static void man_page_lists_options(void **state)
{
	const char *path = FM_TOP_SRCDIR "/man/farmem.7.md";
	FILE *f = fopen(path, "r");
	char *text;
	long len;
	int missing = 0;

	(void)state;
	if (f == NULL) {
		print_message("%s does not exist yet: skipped\n", path);
		skip();
		return;
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (size_t i = 0; i < pre_option_count; i++) {
		if (!mentions_variable(text, pre_option_table[i].name)) {
			print_error("FARMEM_%s is not in %s\n",
				    pre_option_table[i].name, path);
			missing++;
		}
	}
	free(text);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_size_plain),
	    cmocka_unit_test(parse_size_units),
	    cmocka_unit_test(parse_size_long_units),
	    cmocka_unit_test(parse_size_fractions),
	    cmocka_unit_test(parse_size_case),
	    cmocka_unit_test(parse_size_garbage),
	    cmocka_unit_test(parse_size_empty),
	    cmocka_unit_test(parse_size_negative),
	    cmocka_unit_test(parse_size_overflow),
	    cmocka_unit_test(parse_size_max_value),
	    cmocka_unit_test(parse_bool_values),
	    cmocka_unit_test(parse_bool_case),
	    cmocka_unit_test(parse_bool_garbage),
	    cmocka_unit_test(option_suggest),
	    cmocka_unit_test(option_find),
	    cmocka_unit_test(option_table_sane),
	    cmocka_unit_test(format_size),
	    cmocka_unit_test_setup_teardown(options_defaults, log_capture,
					    log_release),
	    cmocka_unit_test_setup_teardown(options_each_type, log_capture,
					    log_release),
	    cmocka_unit_test_setup_teardown(options_override_and_empty,
					    log_capture, log_release),
	    cmocka_unit_test_setup_teardown(options_bad_value_keeps_default,
					    log_capture, log_release),
	    cmocka_unit_test_setup_teardown(options_bad_value_message,
					    log_capture, log_release),
	    cmocka_unit_test_setup_teardown(options_local_mem_fatal,
					    log_capture, log_release),
	    cmocka_unit_test_setup_teardown(options_below_minimum, log_capture,
					    log_release),
	    cmocka_unit_test_setup_teardown(options_region_zero_rejected,
					    log_capture, log_release),
	    cmocka_unit_test_setup_teardown(options_unknown_name, log_capture,
					    log_release),
	    cmocka_unit_test_setup_teardown(options_print_all, log_capture,
					    log_release),
	    cmocka_unit_test(man_page_lists_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
