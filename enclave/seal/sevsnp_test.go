package seal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeSNP is a secure processor for tests. Like the real one, it derives a key from a secret of
// its chip (or of the migration agent, for the VMRK) and the launch facts the request selects,
// and refuses a TCB_VERSION above its COMMITTED_TCB. The derivation is HMAC-SHA256, not AMD's;
// what matters is that the same inputs give the same key and different ones a different key.
type fakeSNP struct {
	chip        []byte // the VCEK root: one per chip
	vmrk        []byte // nil: no migration agent, so no VMRK
	measurement []byte // launch facts of the running image
	policy      uint64
	committed   uint64
	// zeroKey answers with an all-zero key, as some firmware does for bad parameters.
	zeroKey bool

	mu      sync.Mutex
	derives int
}

func (f *fakeSNP) CommittedTCB(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return f.committed, nil
}

// fakeTCBAtMost compares TCB versions byte by byte, as the fake firmware's own check (kept
// apart from the sealer's tcbAtMost so that the fake does not inherit a bug in it).
func fakeTCBAtMost(a, b uint64) bool {
	var x, y [8]byte
	binary.LittleEndian.PutUint64(x[:], a)
	binary.LittleEndian.PutUint64(y[:], b)
	for i := range x {
		if x[i] > y[i] {
			return false
		}
	}
	return true
}

func (f *fakeSNP) DeriveKey(ctx context.Context, req SNPKeyRequest) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.derives++
	f.mu.Unlock()
	if !fakeTCBAtMost(req.TCBVersion, f.committed) {
		return nil, fmt.Errorf("msg_key_req error: invalid parameters (TCB %#x above committed %#x)", req.TCBVersion, f.committed)
	}
	root := f.chip
	if req.RootKey == SNPRootVMRK {
		if f.vmrk == nil {
			return nil, errors.New("msg_key_req error: invalid parameters (no VMRK: no migration agent)")
		}
		root = f.vmrk
	}
	if f.zeroKey {
		return make([]byte, KeySize), nil
	}
	mac := hmac.New(sha256.New, root)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], req.FieldSelect)
	mac.Write(b[:])
	binary.BigEndian.PutUint32(b[:4], req.VMPL)
	mac.Write(b[:4])
	if req.FieldSelect&SNPFieldMeasurement != 0 {
		mac.Write(f.measurement)
	}
	if req.FieldSelect&SNPFieldGuestPolicy != 0 {
		binary.BigEndian.PutUint64(b[:], f.policy)
		mac.Write(b[:])
	}
	if req.FieldSelect&SNPFieldTCBVersion != 0 {
		binary.BigEndian.PutUint64(b[:], req.TCBVersion)
		mac.Write(b[:])
	}
	return mac.Sum(nil), nil
}

var (
	chipA   = bytes.Repeat([]byte{0xc1}, 48)
	chipB   = bytes.Repeat([]byte{0xc2}, 48)
	imageV1 = bytes.Repeat([]byte{0x11}, 48)
	imageV2 = bytes.Repeat([]byte{0x22}, 48)
	// guestPolicy is 0x30000 (SMT allowed, the must-be-one bit), as deploy/sevsnp suggests.
	guestPolicy uint64 = 0x30000
	tcbOld      uint64 = 0xd3_17_00_00_00_00_00_0a
	tcbNew      uint64 = 0xd5_18_00_00_00_00_00_0a
)

// boot returns a fake secure processor of chip running image: what a CVM sees after each start.
func boot(chip, image []byte) *fakeSNP {
	return &fakeSNP{chip: chip, measurement: image, policy: guestPolicy, committed: tcbOld}
}

// blobPath is a blob path in a fresh private directory.
func blobPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "sealer", "sevsnp.blob")
}

// mustKey returns s's data key or stops the test.
func mustKey(t *testing.T, s SEVSNP) []byte {
	t.Helper()
	key, err := s.DataKey(t.Context())
	if err != nil {
		t.Fatalf("DataKey: %v", err)
	}
	if len(key) != KeySize {
		t.Fatalf("DataKey returned %d bytes, want %d", len(key), KeySize)
	}
	return key
}

func TestSEVSNPSameImageKeepsItsKey(t *testing.T) {
	path := blobPath(t)
	first := mustKey(t, SEVSNP{Device: boot(chipA, imageV1), BlobPath: path})
	if bytes.Equal(first, make([]byte, KeySize)) {
		t.Fatal("DataKey returned an all-zero key")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no blob after the first start: %v", err)
	}
	if fi.Size() != snpBlobLen || fi.Mode().Perm() != 0o600 {
		t.Errorf("blob is %d bytes, mode %04o; want %d bytes, 0600", fi.Size(), fi.Mode().Perm(), snpBlobLen)
	}
	blob, _ := os.ReadFile(path)

	// A restart: a new process, a new device handle, the same chip and image.
	again := mustKey(t, SEVSNP{Device: boot(chipA, imageV1), BlobPath: path})
	if !bytes.Equal(first, again) {
		t.Fatal("the same image on the same chip got another data key after a restart")
	}
	// A firmware update since: the blob records the TCB it was made at, which the newer
	// firmware can still derive for.
	updated := boot(chipA, imageV1)
	updated.committed = tcbNew
	if key := mustKey(t, SEVSNP{Device: updated, BlobPath: path}); !bytes.Equal(first, key) {
		t.Fatal("the data key changed after a firmware update")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(blob, after) {
		t.Error("opening the blob rewrote it")
	}
}

func TestSEVSNPOtherLaunchCannotOpen(t *testing.T) {
	cases := []struct {
		name string
		dev  *fakeSNP
	}{
		{"new image (another measurement)", boot(chipA, imageV2)},
		{"another chip", boot(chipB, imageV1)},
		{"same image launched with DEBUG", func() *fakeSNP { d := boot(chipA, imageV1); d.policy |= 1 << 19; return d }()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := blobPath(t)
			mustKey(t, SEVSNP{Device: boot(chipA, imageV1), BlobPath: path})
			before, _ := os.ReadFile(path)
			key, err := SEVSNP{Device: tc.dev, BlobPath: path}.DataKey(t.Context())
			if !errors.Is(err, ErrUnseal) || key != nil {
				t.Fatalf("DataKey = %x, %v; want ErrUnseal", key, err)
			}
			for _, want := range []string{path, "another image", "resharing", "deploy/README.md"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("a failed open changed the blob: it must never be replaced")
			}
		})
	}
}

func TestSEVSNPFirmwareRolledBack(t *testing.T) {
	path := blobPath(t)
	made := boot(chipA, imageV1)
	made.committed = tcbNew
	mustKey(t, SEVSNP{Device: made, BlobPath: path})
	// The secure processor now runs firmware below the TCB the blob was made at: it must not
	// be able to derive that key.
	rolledBack := boot(chipA, imageV1)
	_, err := SEVSNP{Device: rolledBack, BlobPath: path}.DataKey(t.Context())
	if !errors.Is(err, ErrUnseal) || !strings.Contains(err.Error(), "COMMITTED_TCB") {
		t.Fatalf("DataKey on rolled-back firmware = %v, want ErrUnseal naming COMMITTED_TCB", err)
	}
	// And the secure processor itself would refuse: the sealer's check is not the only guard.
	if _, err := rolledBack.DeriveKey(t.Context(), SNPKeyRequest{RootKey: SNPRootVCEK, FieldSelect: snpFieldSelect, TCBVersion: tcbNew}); err == nil {
		t.Fatal("the fake secure processor derived a key for a TCB above its committed one")
	}
}

func TestSEVSNPDamagedBlob(t *testing.T) {
	path := blobPath(t)
	mustKey(t, SEVSNP{Device: boot(chipA, imageV1), BlobPath: path})
	genuine, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(genuine)
		b[i] ^= 0x01
		return b
	}
	cases := map[string][]byte{
		"empty":            {},
		"padded":           append(bytes.Clone(genuine), 0),
		"doubled":          append(bytes.Clone(genuine), genuine...),
		"magic":            flip(0),
		"version":          flip(4),
		"root key":         flip(5),
		"vmpl":             flip(6),
		"reserved":         flip(7),
		"field select":     flip(15),
		"tcb":              flip(23),
		"AEAD version":     flip(snpBlobHeaderLen),
		"nonce":            flip(snpBlobHeaderLen + 1),
		"wrapped key":      flip(snpBlobHeaderLen + 13),
		"tag":              flip(snpBlobLen - 1),
		"KMS-sized random": bytes.Repeat([]byte{0x5a}, 200),
	}
	for n := 1; n < snpBlobLen; n += 7 {
		cases[fmt.Sprintf("truncated to %d", n)] = genuine[:n]
	}
	for name, blob := range cases {
		t.Run(name, func(t *testing.T) {
			p := blobPath(t)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, blob, 0o600); err != nil {
				t.Fatal(err)
			}
			key, err := SEVSNP{Device: boot(chipA, imageV1), BlobPath: p}.DataKey(t.Context())
			if !errors.Is(err, ErrUnseal) || key != nil {
				t.Fatalf("DataKey(%s blob) = %x, %v; want ErrUnseal", name, key, err)
			}
			if after, _ := os.ReadFile(p); !bytes.Equal(blob, after) {
				t.Error("a damaged blob was replaced: a new key would orphan the store")
			}
		})
	}
	t.Run("directory in its place", func(t *testing.T) {
		p := blobPath(t)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := (SEVSNP{Device: boot(chipA, imageV1), BlobPath: p}).DataKey(t.Context()); !errors.Is(err, ErrUnseal) {
			t.Fatalf("DataKey(directory) = %v, want ErrUnseal", err)
		}
	})
}

func TestSEVSNPMissingDevice(t *testing.T) {
	dir := t.TempDir()
	notDevice := filepath.Join(dir, "regular-file")
	if err := os.WriteFile(notDevice, []byte("not a device"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]SNPDevice{
		"no device configured":   nil,
		"no such device":         NewSNPGuestDevice(filepath.Join(dir, "sev-guest")),
		"not a character device": NewSNPGuestDevice(notDevice),
	}
	for name, dev := range cases {
		t.Run(name, func(t *testing.T) {
			path := blobPath(t)
			_, err := SEVSNP{Device: dev, BlobPath: path}.DataKey(t.Context())
			if !errors.Is(err, ErrNoSNPDevice) {
				t.Fatalf("DataKey = %v, want ErrNoSNPDevice", err)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("a blob was written without a device")
			}
		})
	}
	// With a blob already there, opening it needs the device too.
	path := blobPath(t)
	mustKey(t, SEVSNP{Device: boot(chipA, imageV1), BlobPath: path})
	_, err := SEVSNP{Device: NewSNPGuestDevice(filepath.Join(dir, "sev-guest")), BlobPath: path}.DataKey(t.Context())
	if !errors.Is(err, ErrNoSNPDevice) || !strings.Contains(err.Error(), "sev-guest") {
		t.Fatalf("DataKey(existing blob, no device) = %v, want ErrNoSNPDevice naming the device", err)
	}
}

// TestSEVSNPNotAGuestDevice points the real device at /dev/null: go-sev-guest's ioctls run and
// fail (on Linux, ENOTTY), and the sealer reports it without writing a blob.
func TestSEVSNPNotAGuestDevice(t *testing.T) {
	path := blobPath(t)
	_, err := SEVSNP{Device: NewSNPGuestDevice(os.DevNull), BlobPath: path}.DataKey(t.Context())
	if err == nil || !strings.Contains(err.Error(), os.DevNull) {
		t.Fatalf("DataKey(%s as the device) = %v, want an error naming it", os.DevNull, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a blob was written without a working device")
	}
	_, err = NewSNPGuestDevice(os.DevNull).DeriveKey(t.Context(), SNPKeyRequest{RootKey: SNPRootVCEK, FieldSelect: snpFieldSelect})
	if err == nil {
		t.Fatal("DeriveKey through /dev/null succeeded")
	}
}

func TestSEVSNPRootKeys(t *testing.T) {
	path := blobPath(t)
	_, err := SEVSNP{Device: boot(chipA, imageV1), BlobPath: path, RootKey: SNPRootVMRK}.DataKey(t.Context())
	if err == nil {
		t.Fatal("DataKey(VMRK without a migration agent) succeeded")
	}
	withMA := boot(chipA, imageV1)
	withMA.vmrk = bytes.Repeat([]byte{0x77}, 32)
	vmrkKey := mustKey(t, SEVSNP{Device: withMA, BlobPath: path, RootKey: SNPRootVMRK})
	// The VMRK travels with the guest: the same image on another chip with the same agent
	// still opens the blob.
	moved := boot(chipB, imageV1)
	moved.vmrk = withMA.vmrk
	if key := mustKey(t, SEVSNP{Device: moved, BlobPath: path, RootKey: SNPRootVMRK}); !bytes.Equal(key, vmrkKey) {
		t.Error("VMRK blob did not open on another chip with the same VMRK")
	}
	_, err = SEVSNP{Device: withMA, BlobPath: path, RootKey: SNPRootVCEK}.DataKey(t.Context())
	if !errors.Is(err, ErrUnseal) || !strings.Contains(err.Error(), "root key vmrk") {
		t.Fatalf("DataKey(VMRK blob, VCEK configured) = %v, want ErrUnseal naming the root key", err)
	}
	_, err = SEVSNP{Device: withMA, BlobPath: blobPath(t), RootKey: "chip"}.DataKey(t.Context())
	if err == nil || !strings.Contains(err.Error(), "root_key") {
		t.Fatalf("DataKey(root key %q) = %v, want a configuration error", "chip", err)
	}
}

func TestSEVSNPZeroDerivedKey(t *testing.T) {
	dev := boot(chipA, imageV1)
	dev.zeroKey = true
	path := blobPath(t)
	if _, err := (SEVSNP{Device: dev, BlobPath: path}).DataKey(t.Context()); err == nil || !strings.Contains(err.Error(), "all-zero") {
		t.Fatalf("DataKey(all-zero derived key) = %v, want a refusal", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a blob was written under an all-zero key")
	}
}

func TestSEVSNPConcurrentFirstStart(t *testing.T) {
	path := blobPath(t)
	dev := boot(chipA, imageV1)
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = SEVSNP{Device: dev, BlobPath: path}.DataKey(context.Background()) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("DataKey %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("concurrent first starts got different keys (%d and 0)", i)
		}
	}
}

func TestSEVSNPCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := (SEVSNP{Device: boot(chipA, imageV1), BlobPath: blobPath(t)}).DataKey(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DataKey(canceled) = %v, want context.Canceled", err)
	}
}

func TestSEVSNPSharedDirectoryRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := SEVSNP{Device: boot(chipA, imageV1), BlobPath: filepath.Join(dir, "sevsnp.blob")}.DataKey(t.Context())
	if !errors.Is(err, ErrInsecure) {
		t.Fatalf("DataKey(blob in a 0755 directory) = %v, want ErrInsecure", err)
	}
}

// FuzzSEVSNPBlob opens arbitrary bytes as a blob: no panic, every refusal wraps ErrUnseal, and
// nothing opens but a genuine blob, to the genuine key.
func FuzzSEVSNPBlob(f *testing.F) {
	s := SEVSNP{Device: boot(chipA, imageV1), BlobPath: "fuzz.blob"}
	// The genuine blob wraps a fixed key, not a random one: the coordinator and every fuzzing
	// worker build it anew, and all must agree on what it holds. The fake's derived key is a
	// function of its inputs, so each rebuild opens to the same key.
	key := bytes.Repeat([]byte{0x6b}, KeySize)
	genuine := sealForTest(f, s, key)
	f.Add(genuine)
	f.Add(genuine[:snpBlobHeaderLen])
	f.Add([]byte(snpBlobMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, blob []byte) {
		got, err := s.open(context.Background(), blob)
		if err != nil {
			if !errors.Is(err, ErrUnseal) {
				t.Fatalf("open refused with an error that is not ErrUnseal: %v", err)
			}
			return
		}
		if !bytes.Equal(got, key) {
			t.Fatalf("open returned a key other than the genuine one")
		}
		if !bytes.Equal(blob[:snpBlobHeaderLen], genuine[:snpBlobHeaderLen]) {
			t.Fatalf("a blob with another header opened")
		}
	})
}

// sealForTest wraps key as s would on a first start.
func sealForTest(t testing.TB, s SEVSNP, key []byte) []byte {
	t.Helper()
	tcb, err := s.Device.CommittedTCB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := snpHeader{rootKey: s.rootKey(), vmpl: snpVMPL, fieldSelect: snpFieldSelect, tcb: tcb}
	header, err := h.marshal()
	if err != nil {
		t.Fatal(err)
	}
	aead, err := s.kek(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return append(header, aead.Seal(key, snpAAD(header))...)
}

// TestGuestFieldSelect checks the conversion to go-sev-guest's request against the library's
// own encoding of GUEST_FIELD_SELECT.
func TestGuestFieldSelect(t *testing.T) {
	for bits := range uint64(1 << 6) {
		sel, err := guestFieldSelect(bits)
		if err != nil {
			t.Fatalf("guestFieldSelect(%#x): %v", bits, err)
		}
		if got := sel.ABI(); got != bits {
			t.Errorf("guestFieldSelect(%#x).ABI() = %#x", bits, got)
		}
	}
	if _, err := guestFieldSelect(1 << 6); err == nil {
		t.Error("guestFieldSelect accepted bit 6, which it cannot pass on")
	}
	// SEV-SNP firmware ABI, MSG_KEY_REQ: GUEST_POLICY is bit 0, MEASUREMENT bit 3, TCB_VERSION bit 5.
	if snpFieldSelect != 0b101001 {
		t.Errorf("the sealer mixes in field select %#b, want measurement, guest policy and TCB version (0b101001)", snpFieldSelect)
	}
}
