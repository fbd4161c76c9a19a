package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	ledger "github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/msp"
	"gopkg.in/yaml.v3"
)

// The embedded ledger's directory (fedmeter --data, default ./.fedmeter):
//
//	fedmeter.yaml            Config: the orgs, their MSP IDs and users, the default identity
//	ledger/ledger.db         the embedded ledger (network/embedded)
//	orgs/<domain>/...        each org's CA and MSP folders (network/msp)
const (
	ConfigFile = "fedmeter.yaml"
	ledgerDir  = "ledger"
	orgsDir    = "orgs"
)

// Config is the embedded ledger directory's fedmeter.yaml.
type Config struct {
	// Channel and Chaincode name the ledger's binding (defaults channelall
	// and fedmeter, as on the seed's Fabric network).
	Channel   string `yaml:"channel" json:"channel"`
	Chaincode string `yaml:"chaincode" json:"chaincode"`
	// DefaultIdentity is used when Options.As is empty ("Org1/Admin").
	DefaultIdentity string      `yaml:"default_identity" json:"default_identity"`
	Orgs            []OrgConfig `yaml:"orgs" json:"orgs"`
}

// OrgConfig is one org with local identities.
type OrgConfig struct {
	// Name is the short name used in identities ("Org1" in "Org1/Admin").
	Name  string `yaml:"name" json:"name"`
	MSPID string `yaml:"msp_id" json:"msp_id"`
	// Domain names the org's folder under orgs/ and its certificates.
	Domain string       `yaml:"domain" json:"domain"`
	Users  []UserConfig `yaml:"users" json:"users"`
}

// UserConfig is a local identity of an org.
type UserConfig struct {
	Name string `yaml:"name" json:"name"`
	// Role is admin, member or agent (network/msp).
	Role string `yaml:"role" json:"role"`
}

// DefaultUsers are the identities init and org add issue for each org: an
// admin (votes, prices, quotas), a member (requests resources) and a
// metering agent (submits usage).
var DefaultUsers = []UserConfig{{"Admin", "admin"}, {"User1", "member"}, {"Agent1", "agent"}}

var (
	reOrgName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,31}$`)
	reMSPID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// LoadConfig reads dir/fedmeter.yaml.
func LoadConfig(dir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		e := client.Errorf(client.KindNotFound, "%s holds no fedmeter ledger (no %s)", dir, ConfigFile).
			WithHint("create one with Init (fedmeter init), or open a directory that holds one")
		e.Op = "LoadConfig"
		return nil, e
	}
	if err != nil {
		e := client.Errorf(client.KindInvalid, "the ledger directory %s cannot be read: %v", dir, errText(err))
		e.Op = "LoadConfig"
		return nil, e
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		e := client.Errorf(client.KindInvalid, "%s is not valid YAML: %v", filepath.Join(dir, ConfigFile), errText(err)).
			WithHint("fix the file, or create a new ledger in another directory")
		e.Op = "LoadConfig"
		return nil, e
	}
	if c.Channel == "" {
		c.Channel = "channelall"
	}
	if c.Chaincode == "" {
		c.Chaincode = chaincode.ContractName
	}
	return &c, nil
}

func (c *Config) save(dir string) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	head := "# fedmeter embedded ledger: written by `fedmeter init` and `fedmeter org add`.\n"
	tmp := filepath.Join(dir, ConfigFile+".tmp")
	if err := os.WriteFile(tmp, append([]byte(head), b...), 0o600); err != nil {
		return client.Errorf(client.KindInternal, "writing %s failed: %v", ConfigFile, errText(err))
	}
	if err := os.Rename(tmp, filepath.Join(dir, ConfigFile)); err != nil {
		return client.Errorf(client.KindInternal, "writing %s failed: %v", ConfigFile, errText(err))
	}
	return nil
}

// Org finds an org by name or MSP ID (case-insensitive).
func (c *Config) Org(ref string) *OrgConfig {
	for i := range c.Orgs {
		o := &c.Orgs[i]
		if strings.EqualFold(o.Name, ref) || strings.EqualFold(o.MSPID, ref) {
			return o
		}
	}
	return nil
}

func (c *Config) orgNames() string {
	names := make([]string, len(c.Orgs))
	for i, o := range c.Orgs {
		names[i] = o.Name
	}
	return strings.Join(names, ", ")
}

// identityDir resolves "Org/User" to the user's MSP folder.
func (c *Config) identityDir(dir, who string) (string, error) {
	org, user, ok := strings.Cut(who, "/")
	if !ok || org == "" || user == "" {
		return "", identityErr("the identity %q is not valid: it must be ORG/USER, such as Org1/Admin", who)
	}
	o := c.Org(org)
	if o == nil {
		return "", identityErr("the identity %s names no local org %s (local orgs: %s)", who, org, c.orgNames())
	}
	for _, u := range o.Users {
		if strings.EqualFold(u.Name, user) {
			return msp.UserMSPDir(filepath.Join(dir, orgsDir, o.Domain), u.Name, o.Domain), nil
		}
	}
	names := make([]string, len(o.Users))
	for i, u := range o.Users {
		names[i] = u.Name
	}
	return "", identityErr("the identity %s names no user %s of %s (users: %s)", who, user, o.Name, strings.Join(names, ", "))
}

// identityErr is an Options.As that names no local identity (Op
// "identity"); Config.Orgs lists them.
func identityErr(format string, args ...any) *client.Error {
	e := client.Errorf(client.KindInvalid, format, args...).
		WithHint("the local identities are the users of Config.Orgs (fedmeter org list); AddOrg creates an org")
	e.Op = "identity"
	return e
}

// OrgSpec names an org for InitOptions and AddOrg.
type OrgSpec struct {
	Name  string // short name, e.g. Org1
	MSPID string // default Name+"MSP"
}

// ParseOrgSpec parses NAME or NAME=MSPID.
func ParseOrgSpec(s string) (OrgSpec, error) {
	name, id, _ := strings.Cut(strings.TrimSpace(s), "=")
	if id == "" {
		id = name + "MSP"
	}
	o := OrgSpec{Name: name, MSPID: id}
	return o, o.check()
}

func (o OrgSpec) check() error {
	if !reOrgName.MatchString(o.Name) {
		return client.Errorf(client.KindInvalid, "org name %q is not valid: it must be 1 to 32 letters, digits or '-', starting with a letter", o.Name).
			WithHint("write NAME or NAME=MSPID, such as Org4 or Org4=Org4MSP")
	}
	if !reMSPID.MatchString(o.MSPID) {
		return client.Errorf(client.KindInvalid, "MSP ID %q of org %s is not valid: it must be 1 to 64 letters, digits, '.', '_' or '-'", o.MSPID, o.Name).
			WithHint("write NAME=MSPID, such as Org4=Org4MSP")
	}
	return nil
}

func (o OrgSpec) domain() string { return strings.ToLower(o.Name) + ".example.com" }

// generateOrg writes the org's MSP folders and returns its config.
func generateOrg(dir string, o OrgSpec) (OrgConfig, error) {
	oc := OrgConfig{Name: o.Name, MSPID: o.MSPID, Domain: o.domain(), Users: append([]UserConfig(nil), DefaultUsers...)}
	users := make([]msp.UserSpec, len(oc.Users))
	for i, u := range oc.Users {
		users[i] = msp.UserSpec{Name: u.Name, Role: msp.Role(u.Role)}
	}
	if err := msp.GenerateOrg(filepath.Join(dir, orgsDir, oc.Domain), o.MSPID, oc.Domain, users); err != nil {
		return oc, client.Errorf(client.KindInternal, "creating the identities of %s failed: %v", o.Name, errText(err))
	}
	return oc, nil
}

// AddOrg creates local identities (an admin, a member and an agent) for a
// new org in the embedded ledger directory dir. The org is not a member of
// the consortium until the members vote it in (member.add).
func AddOrg(dir string, o OrgSpec) (*OrgConfig, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	c, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	for _, x := range c.Orgs {
		if strings.EqualFold(x.Name, o.Name) || x.MSPID == o.MSPID {
			return nil, client.Errorf(client.KindInvalid, "org %s (%s) conflicts with the local org %s (%s)", o.Name, o.MSPID, x.Name, x.MSPID).
				WithHint("choose another name and MSP ID; Config.Orgs lists the local orgs (fedmeter org list)")
		}
	}
	oc, err := generateOrg(dir, o)
	if err != nil {
		return nil, err
	}
	// The ledger records the new org's CA, as a Fabric channel config
	// update would, before the org is usable.
	e, err := Open(dir, Options{})
	if err == nil {
		err = e.h.write(func(l *ledger.Ledger) error { return defineOrg(context.Background(), dir, l, e.id, oc) })
		if cerr := e.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		os.RemoveAll(filepath.Join(dir, orgsDir, oc.Domain))
		return nil, err
	}
	c.Orgs = append(c.Orgs, oc)
	sort.SliceStable(c.Orgs, func(i, j int) bool { return c.Orgs[i].Name < c.Orgs[j].Name })
	if err := c.save(dir); err != nil {
		return nil, err
	}
	return &oc, nil
}

// DefaultTypes is the resource-type catalog init gives a new consortium:
// the types of the standard rules (rules/README.md).
var DefaultTypes = []chaincode.TypeDef{
	{Name: "bandwidth", Description: "network egress", Spec: []string{}, Metrics: []string{"egress_bytes"}},
	{Name: "ecs", Description: "cloud server", Spec: []string{"data_disk_gib", "memory_gib", "public_ips", "system_disk_gib", "vcpu"}, Metrics: []string{"cpu_seconds", "egress_gib"}},
	{Name: "gpu", Description: "GPU", Spec: []string{"committed_gpus", "gpus"}, Metrics: []string{"gpu_seconds"}},
	{Name: "storage", Description: "bucket or volume", Spec: []string{"capacity_gib"}, Metrics: []string{"storage_gib_seconds"}},
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
