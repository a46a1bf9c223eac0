/*! \file    standalone-main.c
 * \brief    Replays files through LLVMFuzzerTestOneInput without libFuzzer, printing TAP
 * \details  Usage: replay-X PATH... where each PATH is a file or a folder (its regular files, sorted,
 * not recursive). One TAP test per file: "ok N - PATH" once the input returned (a crash or sanitizer
 * report aborts the run, which the TAP driver reports as a failure). Exit status 0 when every file was
 * read, 1 when a file could not be read, 99 on usage errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static gint by_name(gconstpointer a, gconstpointer b) {
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

static void collect(const char *path, GPtrArray *files) {
	if(!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_ptr_array_add(files, g_strdup(path));
		return;
	}
	GDir *dir = g_dir_open(path, 0, NULL);
	if(dir == NULL) {
		g_ptr_array_add(files, g_strdup(path));
		return;
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	while((name = g_dir_read_name(dir)) != NULL) {
		char *full = g_build_filename(path, name, NULL);
		if(g_file_test(full, G_FILE_TEST_IS_REGULAR))
			g_ptr_array_add(names, full);
		else
			g_free(full);
	}
	g_dir_close(dir);
	g_ptr_array_sort(names, by_name);
	for(guint i = 0; i < names->len; i++)
		g_ptr_array_add(files, g_strdup(names->pdata[i]));
	g_ptr_array_free(names, TRUE);
}

int main(int argc, char **argv) {
	if(argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 99;
	}
	if(LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	for(int i = 1; i < argc; i++)
		collect(argv[i], files);
	printf("1..%u\n", files->len);
	int status = 0;
	for(guint i = 0; i < files->len; i++) {
		const char *path = files->pdata[i];
		gchar *data = NULL;
		gsize len = 0;
		if(!g_file_get_contents(path, &data, &len, NULL)) {
			printf("not ok %u - %s (unreadable)\n", i + 1, path);
			status = 1;
			continue;
		}
		/* An exact-size copy, so ASan sees reads past the end of the input. */
		uint8_t *copy = malloc(len ? len : 1);
		if(copy == NULL)
			abort();
		memcpy(copy, data, len);
		g_free(data);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
		printf("ok %u - %s\n", i + 1, path);
		fflush(stdout);
	}
	g_ptr_array_free(files, TRUE);
	return status;
}
