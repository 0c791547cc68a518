package p11bench

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// SoftHSMModules are where distributions install SoftHSM2's library.
var SoftHSMModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// SoftHSMEnv is the variable SoftHSM2 reads its configuration file's path from.
const SoftHSMEnv = "SOFTHSM2_CONF"

// SoftHSM is a throw-away SoftHSM2 token in a temporary directory: the reference software
// token the cluster's PKCS#11 module is compared with.
type SoftHSM struct {
	Module     string
	TokenLabel string
	PIN        string
	dir        string
	// envSet says SOFTHSM2_CONF was changed; prevConf is its earlier value, if it had one.
	envSet   bool
	prevConf *string
}

// NewSoftHSM initializes a token in a fresh 0700 directory with softhsm2-util and points this
// process's SOFTHSM2_CONF at it (SoftHSM reads it at C_Initialize; Close restores it). module ""
// looks in SoftHSMModules. The PINs are random; they pass through softhsm2-util's command line,
// which is acceptable for a token that holds only benchmark keys and is deleted by Close.
func NewSoftHSM(module string) (*SoftHSM, error) {
	module, err := findSoftHSM(module)
	if err != nil {
		return nil, err
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		return nil, errors.New("softhsm2-util is not on PATH (install SoftHSM2: apt-get install softhsm2)")
	}
	dir, err := os.MkdirTemp("", "mpcsigner-bench-softhsm-")
	if err != nil {
		return nil, err
	}
	s := &SoftHSM{Module: module, TokenLabel: "mpcsigner-bench", PIN: randomPIN(), dir: dir}
	if err := s.initToken(util); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func findSoftHSM(module string) (string, error) {
	if module != "" {
		if _, err := os.Stat(module); err != nil {
			return "", fmt.Errorf("SoftHSM2 module: %w", err)
		}
		return module, nil
	}
	for _, m := range SoftHSMModules {
		if _, err := os.Stat(m); err == nil {
			return m, nil
		}
	}
	return "", errors.New("SoftHSM2 is not installed (no libsofthsm2.so in the usual places; pass --softhsm-module)")
}

func (s *SoftHSM) initToken(util string) error {
	tokens := filepath.Join(s.dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(s.dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return err
	}
	if prev, ok := os.LookupEnv(SoftHSMEnv); ok {
		s.prevConf = &prev
	}
	if err := os.Setenv(SoftHSMEnv, conf); err != nil {
		return err
	}
	s.envSet = true
	cmd := exec.Command(util, "--init-token", "--free", "--label", s.TokenLabel, "--pin", s.PIN, "--so-pin", randomPIN())
	cmd.Env = append(os.Environ(), SoftHSMEnv+"="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("softhsm2-util --init-token: %v: %s", err, out)
	}
	return nil
}

// Close deletes the token and restores SOFTHSM2_CONF. Close the drivers using it first.
func (s *SoftHSM) Close() error {
	switch {
	case !s.envSet:
	case s.prevConf != nil:
		_ = os.Setenv(SoftHSMEnv, *s.prevConf)
	default:
		_ = os.Unsetenv(SoftHSMEnv)
	}
	return os.RemoveAll(s.dir)
}

// Options returns driver options for n generated keys of scheme on this token.
func (s *SoftHSM) Options(scheme string, n int) Options {
	return Options{Name: "softhsm", Module: s.Module, PIN: s.PIN, Scheme: scheme, TokenLabel: s.TokenLabel, Generate: n}
}

func randomPIN() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b)
}
