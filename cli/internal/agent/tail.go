package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// tailer follows files: a path that is a file, or a directory whose
// files (matching a pattern) are read in name order. Files are known by
// device and inode, so rotation by rename keeps each file's offset, a
// file replaced at the same path is read from its start, and a file
// shorter than its offset (truncated in place) is read again from 0.
type tailer struct {
	paths   []string
	pattern string
	open    map[[2]uint64]*tailFile
	chunk   int
	// changed: an offset moved or a file was forgotten without a line
	// read (a truncation, a deletion): the checkpoint must be written.
	changed bool
}

type tailFile struct {
	fileOffset
	f *os.File
	// partial: bytes after the last newline, not yet a line. They are
	// read again after a restart (the offset stops at the newline).
	partial []byte
}

func newTailer(paths []string, pattern string, restored []fileOffset) *tailer {
	t := &tailer{paths: paths, pattern: pattern, open: map[[2]uint64]*tailFile{}, chunk: 1 << 20}
	for _, o := range restored {
		t.open[[2]uint64{o.Dev, o.Ino}] = &tailFile{fileOffset: o}
	}
	return t
}

// list is the files the paths name now, in order.
func (t *tailer) list() ([]string, error) {
	var out []string
	for _, p := range t.paths {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // not created yet, or rotated away: wait for it
		}
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range ents {
			if e.IsDir() || e.Name()[0] == '.' {
				continue
			}
			if ok, _ := filepath.Match(t.pattern, e.Name()); ok {
				names = append(names, filepath.Join(p, e.Name()))
			}
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return out, nil
}

// poll reads what the files gained since the last poll and calls line for
// each complete line, with the file's name and the line's number in that
// read. It reads at most one chunk per file per poll, and reports whether
// any file may hold more. Files that are gone (and read to their end) are
// forgotten.
func (t *tailer) poll(line func(name string, l []byte)) (more bool, err error) {
	names, err := t.list()
	if err != nil {
		return false, err
	}
	type listed struct {
		name string
		fi   os.FileInfo
		k    [2]uint64
	}
	var now []listed
	seen := map[[2]uint64]bool{}
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			continue
		}
		dev, ino, ok := fileID(fi)
		if !ok {
			return false, fmt.Errorf("%s: no inode (this system is not supported for tailing)", name)
		}
		k := [2]uint64{dev, ino}
		if !seen[k] {
			seen[k] = true
			now = append(now, listed{name, fi, k})
		}
	}
	// Files no longer listed: rotated away or deleted. Read an open one
	// to its end first (it is older than what replaced it), then forget it.
	for k, tf := range t.open {
		if seen[k] {
			continue
		}
		if tf.f != nil {
			m, err := t.read(tf, line)
			if err != nil {
				return false, err
			}
			if m {
				more = true
				continue
			}
			tf.f.Close()
		}
		delete(t.open, k)
		t.changed = true
	}
	for _, l := range now {
		tf := t.open[l.k]
		if tf == nil {
			tf = &tailFile{fileOffset: fileOffset{Path: l.name, Dev: l.k[0], Ino: l.k[1]}}
			t.open[l.k] = tf
		}
		tf.Path = l.name
		if l.fi.Size() < tf.Offset {
			// truncated in place (copytruncate): the file starts over.
			tf.Offset, tf.partial = 0, nil
			t.changed = true
			if tf.f != nil {
				tf.f.Close()
				tf.f = nil
			}
		}
		m, err := t.read(tf, line)
		if err != nil {
			return false, err
		}
		more = more || m
	}
	return more, nil
}

func (t *tailer) read(tf *tailFile, line func(name string, l []byte)) (bool, error) {
	if tf.f == nil {
		f, err := os.Open(tf.Path)
		if err != nil {
			return false, nil // gone between list and open: next poll
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return false, nil
		}
		if dev, ino, _ := fileID(fi); dev != tf.Dev || ino != tf.Ino {
			f.Close()
			return false, nil // replaced between list and open: next poll
		}
		tf.f = f
	}
	buf := make([]byte, t.chunk)
	n, err := tf.f.ReadAt(buf, tf.Offset+int64(len(tf.partial)))
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("%s: %v", tf.Path, err)
	}
	if n == 0 {
		return false, nil
	}
	data := append(tf.partial, buf[:n]...)
	last := bytes.LastIndexByte(data, '\n')
	if last < 0 {
		tf.partial = data
		return n == len(buf), nil
	}
	rest := data[last+1:]
	data = data[:last+1]
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line(tf.Path, data[:i])
		data = data[i+1:]
	}
	tf.Offset += int64(last + 1)
	tf.partial = append([]byte(nil), rest...)
	return n == len(buf), nil
}

// offsets is what the checkpoint keeps.
func (t *tailer) offsets() []fileOffset {
	out := make([]fileOffset, 0, len(t.open))
	for _, tf := range t.open {
		out = append(out, tf.fileOffset)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Ino < out[j].Ino
	})
	return out
}

func (t *tailer) close() {
	for _, tf := range t.open {
		if tf.f != nil {
			tf.f.Close()
		}
	}
}
