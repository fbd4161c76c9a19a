package serve

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
)

// Tokens are bearer tokens, each acting as one identity of the ledger. A
// token is "fmt_" and 43 characters of base64url: 32 random bytes. The file
// keeps only the SHA-256 of each token (hex), never the token itself, so a
// copy of the file gives nobody access.
//
// The embedded ledger's tokens live in its folder (TokenFile); a Fabric
// server's beside its connection profile (ProfileTokenFile).

// TokenFileName is the token file's name inside the embedded ledger's folder.
const TokenFileName = "serve-tokens.json"

// TokenFile is the token file of the embedded ledger in dir.
func TokenFile(dir string) string { return filepath.Join(dir, TokenFileName) }

// ProfileTokenFile is the token file of a server on a Fabric connection
// profile: beside the profile, named after it.
func ProfileTokenFile(profile string) string {
	return strings.TrimSuffix(profile, filepath.Ext(profile)) + ".tokens.json"
}

// tokenPrefix starts every token, so that a leaked one is recognizable.
const tokenPrefix = "fmt_"

// Token is one entry of the token file: what a token acts as, never the
// token.
type Token struct {
	// ID names the token for list and revoke (the first 12 hex digits of
	// its hash).
	ID string `json:"id"`
	// As is the identity, "Org/User" on the embedded ledger; on Fabric the
	// profile's MSP ID.
	As    string `json:"as"`
	MSPID string `json:"msp_id"`
	// Hash is the hex SHA-256 of the token.
	Hash    string    `json:"sha256"`
	Created time.Time `json:"created"`
	Note    string    `json:"note,omitempty"`
}

type tokenFile struct {
	Tokens []Token `json:"tokens"`
}

// HashToken is the hex SHA-256 of a token, as the file keeps it.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// ReadTokens reads a token file; a missing file holds no tokens.
func ReadTokens(file string) ([]Token, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, client.Errorf(client.KindInternal, "the token file %s cannot be read: %v", file, err)
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, client.Errorf(client.KindInternal, "the token file %s is not a token file: %v", file, err).
			WithHint("restore it from a copy, or delete it and create the tokens again")
	}
	return f.Tokens, nil
}

func writeTokens(file string, ts []Token) error {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Created.Before(ts[j].Created) })
	b, _ := json.MarshalIndent(tokenFile{Tokens: ts}, "", "  ")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return client.Errorf(client.KindInternal, "the token file %s cannot be written: %v", file, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return client.Errorf(client.KindInternal, "the token file %s cannot be written: %v", file, err)
	}
	return nil
}

// tokenFileMu serializes this process's changes of token files.
var tokenFileMu sync.Mutex

// CreateToken makes a new token acting as identity as (MSP ID mspID),
// records its hash in file and returns the token (shown once) and its entry.
func CreateToken(file, as, mspID, note string) (string, *Token, error) {
	tokenFileMu.Lock()
	defer tokenFileMu.Unlock()
	ts, err := ReadTokens(file)
	if err != nil {
		return "", nil, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, client.Errorf(client.KindInternal, "no random bytes for a token: %v", err)
	}
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	h := HashToken(tok)
	t := Token{ID: h[:12], As: as, MSPID: mspID, Hash: h, Created: time.Now().UTC().Truncate(time.Second), Note: note}
	ts = append(ts, t)
	if err := writeTokens(file, ts); err != nil {
		return "", nil, err
	}
	return tok, &t, nil
}

// RevokeToken removes the token whose ID (or a unique prefix of it of at
// least 6 digits) is id.
func RevokeToken(file, id string) (*Token, error) {
	tokenFileMu.Lock()
	defer tokenFileMu.Unlock()
	ts, err := ReadTokens(file)
	if err != nil {
		return nil, err
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < 6 {
		return nil, client.Errorf(client.KindInvalid, "token ID %q is too short: give at least 6 of its hex digits", id).
			WithHint("fedmeter serve token list shows the IDs")
	}
	found := -1
	for i, t := range ts {
		if strings.HasPrefix(t.ID, id) {
			if found >= 0 {
				return nil, client.Errorf(client.KindInvalid, "token ID %q names more than one token: give more digits", id)
			}
			found = i
		}
	}
	if found < 0 {
		return nil, client.Errorf(client.KindNotFound, "token ID %q names no token of %s", id, file).
			WithHint("fedmeter serve token list shows the IDs")
	}
	t := ts[found]
	ts = append(ts[:found], ts[found+1:]...)
	return &t, writeTokens(file, ts)
}

// tokenStore is the server's view of the token file, reread when the file
// changes (a token created or revoked while the server runs takes effect
// at the next request).
type tokenStore struct {
	file string
	mu   sync.Mutex
	mod  time.Time
	size int64
	byH  map[string]Token
}

// lookup returns the entry of token tok, if the file holds its hash.
func (s *tokenStore) lookup(tok string) (Token, bool, error) {
	if !strings.HasPrefix(tok, tokenPrefix) {
		return Token{}, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.byH, s.mod, s.size = nil, time.Time{}, 0
	case err != nil:
		return Token{}, false, client.Errorf(client.KindInternal, "the token file %s cannot be read: %v", s.file, err)
	case s.byH == nil || !fi.ModTime().Equal(s.mod) || fi.Size() != s.size:
		ts, err := ReadTokens(s.file)
		if err != nil {
			return Token{}, false, err
		}
		s.byH = make(map[string]Token, len(ts))
		for _, t := range ts {
			s.byH[t.Hash] = t
		}
		s.mod, s.size = fi.ModTime(), fi.Size()
	}
	t, ok := s.byH[HashToken(tok)]
	return t, ok, nil
}

// String is a token entry for a listing.
func (t Token) String() string {
	return fmt.Sprintf("%s %s %s", t.ID, t.As, t.Created.Format(time.RFC3339))
}
