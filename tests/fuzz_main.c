// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replays fuzz inputs through LLVMFuzzerTestOneInput() without libFuzzer,
 * for builds with gcc --coverage.  Arguments are files or directories.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int nr_runs;

static void run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	nr_runs++;
}

static void run_path(const char *path)
{
	char sub[4096];
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (stat(path, &st)) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	if (!d) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		run_path(sub);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("replayed %u inputs\n", nr_runs);
	return 0;
}
