package embedded

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRuleCacheDir: the embedded backend keeps compiled rules in the ledger
// folder, or in the user's cache folder when the ledger folder cannot be
// written, or nowhere.
func TestRuleCacheDir(t *testing.T) {
	userCache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", userCache)
	t.Setenv("HOME", userCache)

	ledger := t.TempDir()
	if got, want := ruleCacheDir(ledger), filepath.Join(ledger, "cache"); got != want {
		t.Errorf("writable ledger folder: cache in %q, want %q", got, want)
	}
	// A ledger "folder" whose cache/ cannot be made (a file is in the way;
	// permission bits do not stop root, which CI may be).
	blocked := filepath.Join(t.TempDir(), "ledger")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := ruleCacheDir(blocked)
	if want := filepath.Join(userCache, "fedmeter", "rules"); got != want {
		t.Errorf("unwritable ledger folder: cache in %q, want the user cache %q", got, want)
	}
	// Nowhere to write at all: no cache, and no error.
	t.Setenv("XDG_CACHE_HOME", blocked)
	t.Setenv("HOME", blocked)
	if got := ruleCacheDir(blocked); got != "" {
		t.Errorf("nothing writable: cache in %q, want none", got)
	}
}
