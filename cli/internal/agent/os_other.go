//go:build !unix

package agent

import (
	"errors"
	"os"
)

// lockState: the agent's state directory lock and file identities need a
// Unix system (flock, inodes).
func lockState(string) (*os.File, error) {
	return nil, errors.New("agent: fedmeter agent runs on Unix systems only (it locks its state with flock and follows files by inode)")
}

func fileID(os.FileInfo) (uint64, uint64, bool) { return 0, 0, false }
