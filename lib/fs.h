/*
 * fs.h - file-system helpers shared by the parts that keep files (the state
 * directory, the journal, the file exporter). A leaf.
 */
#ifndef SP_FS_H
#define SP_FS_H

/* mkdir -p: missing parents get 0755, `dir` itself `mode`. 0 or -errno. */
int sp_mkdirs(const char *dir, unsigned mode);

#endif
