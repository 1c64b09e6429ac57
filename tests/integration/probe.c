/* SPDX-License-Identifier: MIT */
/*
 * probe - says whether this process runs on the managed heap, then runs
 * the rest of its arguments (if any) as a child with fork + exec and
 * waits for it.
 *
 * usage: probe LABEL [COMMAND ARGS...]
 * prints: "LABEL: managed" | "LABEL: libc" (+ the child's lines)
 *
 * Unlike the other test programs it does not insist on being managed:
 * FARMEM_CHILDREN=plain children are meant to run on libc.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmcheck.h"

int main(int argc, char **argv)
{
	int managed;
	void *p;
	pid_t pid;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: probe LABEL [COMMAND ARGS...]\n");
		return 2;
	}
	unsetenv("FM_TEST_EXPECT_MANAGED");
	fmc_init();
	p = malloc(1000);
	managed = fmc_managed_on && fmc_is_managed_fn(p);
	free(p);
	printf("%s: %s\n", argv[1], managed ? "managed" : "libc");
	fflush(stdout);
	if (argc < 3)
		return 0;
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "probe: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
