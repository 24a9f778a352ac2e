package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes data to path so that a reader sees either the old
// file or the whole new one, never a part: it writes a temporary file in
// the same directory (".NAME.tmp-RANDOM", which no "*.json" or "shard-*"
// pattern matches), syncs it and renames it over path. A collector that
// merges every result file of a shared volume while shards still run
// never reads a half-written result. On error the temporary file is
// removed. A path that exists and is not a regular file (/dev/stdout, a
// named pipe) is written directly.
func writeAtomic(path string, data []byte) (err error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return os.WriteFile(path, data, 0o644)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", filepath.Base(tmp.Name()), base, err)
	}
	return nil
}

// quietOr returns w, or io.Discard with --quiet.
func quietOr(cfg *runConfig, w io.Writer) io.Writer {
	if cfg.quiet {
		return io.Discard
	}
	return w
}
