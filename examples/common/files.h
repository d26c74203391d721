/* Paths and folders: creating output folders, joining names, file stems. */
#ifndef EXAMPLES_FILES_H
#define EXAMPLES_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* Creates a folder and its missing parents (like mkdir -p). Prints a message on failure. */
bool files_make_dirs(const char *path);
/* "a/b" into buf; false (and a message) if it does not fit. */
bool files_join(char *buf, size_t size, const char *a, const char *b);
/* The file name without folder and last extension ("x/y/01.png" -> "01"). */
void files_stem(const char *path, char *buf, size_t size);
/* Replaces characters unsafe in file names by '_'. */
void files_sanitize(char *name);
/* True if the folder that would hold the file path exists and is writable; prints a message
 * otherwise. Lets a program fail before long work rather than after it. */
bool files_parent_writable(const char *path);

#endif
