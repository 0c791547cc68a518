package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
	"github.com/mpcsigner/mpcsigner/enclave"
	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"github.com/mpcsigner/mpcsigner/host"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

// Devnet data layout (everything under --data, default ./data):
//
//	devnet.json           what is running: every endpoint and pid (removed on a clean stop)
//	cluster.json          the roster: parties, threshold, epoch (no keys: parties attest)
//	sim-ca/               the simulated attestation CA (root.pem; the intermediate signs leaves)
//	api.token, peer.token credentials (0600)
//	pkcs11.yaml, pkcs11.pin  the PKCS#11 module's configuration and user PIN (MPCSIGNER_PKCS11_CONF)
//	party-N/enclave.yaml  party N's enclave configuration; its store in party-N/enclave/
//	party-N/host.yaml     party N's host configuration
//	party-N/*.log         the processes' JSON logs
const (
	devnetFileName        = "devnet.json"
	rosterFileName        = "cluster.json"
	simCADirName          = "sim-ca"
	apiTokenName          = "api.token"
	peerTokenName         = "peer.token"
	keymanagerTokenName   = "keymanager.token"
	attestationConfigName = "attestation.yaml"
	pkcs11ConfName        = "pkcs11.yaml"
	pkcs11PINName         = "pkcs11.pin"
	devnetLockName        = "devnet.lock"
	devnetVersion         = 1
	devnetChildStop       = 10 * time.Second
)

// DevnetInfo is devnet.json.
type DevnetInfo struct {
	Version   int    `json:"version"`
	DataDir   string `json:"data_dir"`
	API       string `json:"api"`
	TokenFile string `json:"token_file"`
	Threshold int    `json:"threshold"`
	// Cluster is the roster's cluster id, which operator approval statements name.
	Cluster string        `json:"cluster"`
	PID     int           `json:"pid"`
	Parties []DevnetParty `json:"parties"`
	PKCS11  DevnetPKCS11  `json:"pkcs11"`
	// Web3Signer is host 1's Web3Signer-compatible API (validator clients' remote-signer URL);
	// every host serves one, listed per party.
	Web3Signer string `json:"web3signer,omitempty"`
	// KeymanagerTokenFile holds the bearer token of the Keymanager API (/eth/v1/keystores).
	KeymanagerTokenFile string `json:"keymanager_token_file,omitempty"`
	// Eth1 is host 1's execution-layer front door: Web3Signer eth1 (/api/v1/eth1/...), JSON-RPC
	// on POST / (eth_*), and go-ethereum's external-signer API (account_*); every host serves one.
	Eth1 string `json:"eth1,omitempty"`
	// ChainID is the chain the eth1 front door signs for.
	ChainID uint64 `json:"chain_id,omitempty"`
	// AttestationConfig is the attestation policy clients check enclaves against (the CLI's
	// key import verifies the dealer with it before sealing a key to it).
	AttestationConfig string `json:"attestation_config,omitempty"`
}

// DevnetPKCS11 tells PKCS#11 clients how to use the module against this devnet.
type DevnetPKCS11 struct {
	Config  string `json:"config"`   // export MPCSIGNER_PKCS11_CONF=<this>
	UserPIN string `json:"user_pin"` // the PIN to log in with
}

// DevnetParty lists one party's endpoints and processes.
type DevnetParty struct {
	Party      int    `json:"party"`
	API        string `json:"api"`
	Peer       string `json:"peer"`
	Metrics    string `json:"metrics"`
	Web3Signer string `json:"web3signer,omitempty"`
	Eth1       string `json:"eth1,omitempty"`
	Enclave    string `json:"enclave"`
	HostPID    int    `json:"host_pid"`
	EnclavePID int    `json:"enclave_pid"`
}

type devnetOptions struct {
	data          string
	parties       int
	threshold     int
	basePort      int
	testPreParams string
	restartDelay  time.Duration
	readyTimeout  time.Duration
	signTimeout   time.Duration
	network       string
	chainID       uint64
	downstream    string
	// operators is a file of operator certificates (one per line) and quorum how many of them
	// must approve lifecycle operations; written into every enclave's configuration.
	operators string
	quorum    int
	// refreshEvery schedules share refreshes of every key from host 1.
	refreshEvery time.Duration
	// presignPool is each host's presignature pool size per key; 0 turns pools off.
	presignPool int
	// presignSchemes are the schemes whose keys get pools (empty: the hosts' default, ECDSA).
	presignSchemes []protocol.Scheme
}

func runDevnet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("devnet", stderr)
	o := devnetOptions{}
	fs.StringVar(&o.data, "data", "./data", "data directory (created on first start, reused after)")
	fs.IntVar(&o.parties, "parties", 3, "number of parties (first start only)")
	fs.IntVar(&o.threshold, "threshold", 2, "signers needed (first start only)")
	fs.IntVar(&o.basePort, "base-port", 7100, "first port: APIs at base+1.., peers base+101.., metrics base+201.., enclaves base+301.., Web3Signer APIs base+401.., eth1 APIs base+501.. (0: free ports; first start only)")
	fs.Uint64Var(&o.chainID, "chain-id", 1337, "chain id of the eth1 front door (first start only)")
	fs.StringVar(&o.downstream, "eth1-downstream", "", "Ethereum node JSON-RPC URL the eth1 front door sends transactions through (first start only)")
	fs.StringVar(&o.network, "network", "mainnet", "Ethereum network of the Web3Signer API: mainnet, sepolia, holesky, hoodi or a consensus config file (first start only)")
	fs.StringVar(&o.testPreParams, "test-preparams", "", "seed pre-parameters from this fixtures directory (tests only: keys made with them are NOT secret)")
	fs.DurationVar(&o.restartDelay, "restart-delay", time.Second, "how long to wait before restarting a child that exited")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 90*time.Second, "how long to wait for the cluster to come up")
	fs.DurationVar(&o.signTimeout, "sign-timeout", 20*time.Second, "hosts' signing timeout (first start only)")
	fs.StringVar(&o.operators, "operators", "", "file of operator certificates, one per line (mpcsigner operator keygen): every enclave then requires approvals of refreshes, committee changes and backups (first start only)")
	fs.IntVar(&o.quorum, "approval-quorum", 0, "how many of --operators must approve (first start only)")
	fs.DurationVar(&o.refreshEvery, "refresh-every", 0, "host 1 refreshes every key's shares this often (0: never; first start only)")
	fs.IntVar(&o.presignPool, "presign-pool", 8, "presignatures each host keeps ready per key it signs with (0: none, every signing runs the full protocol; first start only)")
	schemes := fs.String("presign-schemes", "ecdsa-secp256k1,ecdsa-p256", "comma-separated schemes whose keys get presignature pools; ed25519 and bip340 pool FROST nonce commitments (first start only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, s := range strings.Split(*schemes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.presignSchemes = append(o.presignSchemes, protocol.Scheme(s))
		}
	}
	if err := (host.PresignConfig{Schemes: o.presignSchemes}).Validate(); err != nil {
		return &usageError{fmt.Sprintf("--presign-schemes: %v", err)}
	}
	if o.presignPool < 0 {
		return &usageError{fmt.Sprintf("--presign-pool %d must be 0 or more", o.presignPool)}
	}
	if o.parties < 2 || o.threshold < 2 || o.threshold > o.parties {
		return &usageError{fmt.Sprintf("--threshold %d of --parties %d is not usable (need 2 <= t <= n)", o.threshold, o.parties)}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("component", "devnet")
	d := &devnet{opts: o, log: log, stdout: stdout}
	return d.run(ctx)
}

type devnet struct {
	opts        devnetOptions
	measurement map[int]string
	log         *slog.Logger
	stdout      io.Writer
	self        string
	dir         string

	mu       sync.Mutex
	infoMu   sync.Mutex // serializes writes of devnet.json
	info     DevnetInfo
	children []*child
	stopping bool
}

func (d *devnet) run(ctx context.Context) error {
	var err error
	if d.self, err = os.Executable(); err != nil {
		return err
	}
	if d.dir, err = filepath.Abs(d.opts.data); err != nil {
		return err
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	unlock, err := lockDir(filepath.Join(d.dir, devnetLockName))
	if err != nil {
		return err
	}
	defer unlock()
	if err := d.measure(); err != nil {
		return err
	}
	if !exists(filepath.Join(d.dir, rosterFileName)) {
		if err := d.initialize(ctx); err != nil {
			return fmt.Errorf("initializing %s: %w", d.dir, err)
		}
	} else if err := d.updatePolicies(); err != nil {
		return err
	}
	if err := writeYAML(filepath.Join(d.dir, attestationConfigName), d.simAttestation()); err != nil {
		return err
	}
	if err := d.loadLayout(); err != nil {
		return err
	}
	defer d.stopAll()
	if err := d.startAll(); err != nil {
		return err
	}
	if err := d.waitReady(ctx); err != nil {
		return err
	}
	if err := d.writeInfo(); err != nil {
		return err
	}
	defer os.Remove(filepath.Join(d.dir, devnetFileName))
	d.printReady()
	<-ctx.Done()
	d.log.Info("stopping the devnet")
	return nil
}

// lockDir keeps two devnets off one data directory.
func lockDir(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another devnet is using %s (%v)", filepath.Dir(path), err)
	}
	return func() { f.Close() }, nil
}

func (d *devnet) partyDir(p int) string { return filepath.Join(d.dir, fmt.Sprintf("party-%d", p)) }

// initialize lays out a new devnet: credentials, configurations, identities, roster.
func (d *devnet) initialize(ctx context.Context) error {
	n := d.opts.parties
	ports, err := d.allocatePorts(portBlocks * n)
	if err != nil {
		return err
	}
	for _, name := range []string{apiTokenName, peerTokenName, keymanagerTokenName} {
		if err := durable.WriteFile(filepath.Join(d.dir, name), []byte(randomToken()+"\n"), 0o600); err != nil {
			return err
		}
	}
	ca, err := sim.NewCA()
	if err != nil {
		return err
	}
	if err := ca.Save(filepath.Join(d.dir, simCADirName)); err != nil {
		return err
	}
	roster := enclave.Roster{Version: 1, ClusterID: "devnet-" + randomToken()[:16], Threshold: d.opts.threshold, Epoch: 1}
	approvals, err := d.approvalConfig()
	if err != nil {
		return err
	}
	hostParties := make([]host.PartyAddr, n)
	for i := range n {
		hostParties[i] = host.PartyAddr{ID: protocol.PartyID(i + 1), Peer: fmt.Sprintf("127.0.0.1:%d", ports[n+i])}
	}
	for i := range n {
		p := i + 1
		pdir := d.partyDir(p)
		if err := os.MkdirAll(pdir, 0o700); err != nil {
			return err
		}
		ecfg := enclave.FileConfig{
			Version: 1, Party: protocol.PartyID(p),
			Listen:      fmt.Sprintf("loopback://127.0.0.1:%d", ports[3*n+i]),
			DataDir:     filepath.Join(pdir, "enclave"),
			Roster:      filepath.Join(d.dir, rosterFileName),
			Sealer:      enclave.SealerConfig{KeyFile: filepath.Join(pdir, "sealer", "seal.key")},
			PreParams:   d.preParamsConfig(),
			Attestation: d.simAttestation(),
			Approvals:   approvals,
		}
		if err := writeYAML(filepath.Join(pdir, "enclave.yaml"), ecfg); err != nil {
			return err
		}
		roster.Parties = append(roster.Parties, protocol.PartyID(p))
		hcfg := host.Config{
			Version: 1, Party: protocol.PartyID(p), Threshold: d.opts.threshold,
			Enclave:     ecfg.Listen,
			API:         host.APIConfig{Listen: fmt.Sprintf("127.0.0.1:%d", ports[i]), TokenFile: filepath.Join(d.dir, apiTokenName)},
			Peer:        host.PeerConfig{Listen: hostParties[i].Peer, TokenFile: filepath.Join(d.dir, peerTokenName)},
			Metrics:     host.Listen{Listen: fmt.Sprintf("127.0.0.1:%d", ports[2*n+i])},
			Parties:     hostParties,
			Timeouts:    host.Timeouts{Sign: d.opts.signTimeout},
			Refresh:     d.refreshConfig(p),
			Presign:     host.PresignConfig{Disabled: d.opts.presignPool == 0, PoolSize: d.opts.presignPool, Schemes: d.opts.presignSchemes},
			Attestation: d.simAttestation(),
			Web3Signer: host.Web3SignerConfig{
				Listen: fmt.Sprintf("127.0.0.1:%d", ports[4*n+i]), Network: d.opts.network,
				KeymanagerTokenFile: filepath.Join(d.dir, keymanagerTokenName),
			},
			Eth1: host.Eth1Config{Listen: fmt.Sprintf("127.0.0.1:%d", ports[5*n+i]), ChainID: d.opts.chainID, Downstream: d.opts.downstream},
		}
		if err := writeYAML(filepath.Join(pdir, "host.yaml"), hcfg); err != nil {
			return err
		}
	}
	if err := d.writePKCS11Config(ports); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(roster, "", "  ")
	return durable.WriteFile(filepath.Join(d.dir, rosterFileName), append(raw, '\n'), 0o600)
}

// writePKCS11Config writes the module's configuration (pointing at host 1's API) and a user PIN.
func (d *devnet) writePKCS11Config(ports []int) error {
	pin := fmt.Sprintf("%08d", new(big.Int).Mod(new(big.Int).SetBytes([]byte(randomToken())), big.NewInt(100000000)))
	if err := durable.WriteFile(filepath.Join(d.dir, pkcs11PINName), []byte(pin+"\n"), 0o600); err != nil {
		return err
	}
	conf := fmt.Sprintf("api: http://127.0.0.1:%d\ntoken_file: %s\npin_file: %s\ntimeout: 30s\nkeygen_timeout: 5m\n",
		ports[0], filepath.Join(d.dir, apiTokenName), filepath.Join(d.dir, pkcs11PINName))
	return durable.WriteFile(filepath.Join(d.dir, pkcs11ConfName), []byte(conf), 0o600)
}

// refreshConfig schedules refreshes on host 1 only, as one host of a cluster should.
func (d *devnet) refreshConfig(party int) host.RefreshConfig {
	if party != 1 {
		return host.RefreshConfig{}
	}
	return host.RefreshConfig{Every: d.opts.refreshEvery}
}

// approvalConfig reads --operators into the enclaves' approval policy (none without it).
func (d *devnet) approvalConfig() (approval.Config, error) {
	if d.opts.operators == "" {
		if d.opts.quorum != 0 {
			return approval.Config{}, &usageError{"--approval-quorum needs --operators"}
		}
		return approval.Config{}, nil
	}
	raw, err := os.ReadFile(d.opts.operators)
	if err != nil {
		return approval.Config{}, err
	}
	var c approval.Config
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			c.Operators = append(c.Operators, line)
		}
	}
	c.Quorum = d.opts.quorum
	if _, err := c.Policy(); err != nil {
		return approval.Config{}, fmt.Errorf("--operators %s with --approval-quorum %d: %w", d.opts.operators, d.opts.quorum, err)
	}
	return c, nil
}

// preParamsConfig keeps two sets ready, or, with test fixtures, uses those and generates none.
func (d *devnet) preParamsConfig() enclave.PreParamsConfig {
	want := 2
	if d.opts.testPreParams == "" {
		return enclave.PreParamsConfig{Want: &want}
	}
	want = 0
	dir, err := filepath.Abs(d.opts.testPreParams)
	if err != nil {
		dir = d.opts.testPreParams
	}
	return enclave.PreParamsConfig{Want: &want, FixturesDir: dir}
}

// portBlocks is the number of listeners per party: API, peer, metrics, enclave, Web3Signer, eth1.
const portBlocks = 6

// allocatePorts returns n ports: consecutive blocks from --base-port, or free ones if it is 0.
func (d *devnet) allocatePorts(n int) ([]int, error) {
	ports := make([]int, n)
	per := n / portBlocks
	if d.opts.basePort != 0 {
		for i := range n {
			ports[i] = d.opts.basePort + (i/per)*100 + i%per + 1
		}
		return ports, nil
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// simAttestation is the devnet's attestation section: the simulated CA, and a policy that
// pins the measurement of the binary the devnet runs (measurement() fills it in).
func (d *devnet) simAttestation() attestation.Config {
	return attestation.Config{
		Kind:   attestation.KindSim,
		Sim:    attestation.SimConfig{CADir: filepath.Join(d.dir, simCADirName)},
		Policy: attestation.PolicyConfig{Measurements: d.measurement, MaxAge: 10 * time.Minute},
	}
}

// measure records the running binary's simulated measurement, which every party's policy pins.
func (d *devnet) measure() error {
	image, err := os.ReadFile(d.self)
	if err != nil {
		return fmt.Errorf("measuring %s: %w", d.self, err)
	}
	d.measurement = map[int]string{}
	for i, m := range sim.MeasurementOf(image) {
		d.measurement[i] = hex.EncodeToString(m)
	}
	return nil
}

// updatePolicies rewrites every configuration's policy to the current binary's measurement, as
// an operator does when deploying a new build; a measure_file override set by hand is kept.
func (d *devnet) updatePolicies() error {
	for p := 1; ; p++ {
		pdir := d.partyDir(p)
		if !exists(pdir) {
			return nil
		}
		ecfg, err := enclave.LoadFileConfig(filepath.Join(pdir, "enclave.yaml"))
		if err != nil {
			return err
		}
		ecfg.Attestation.Policy.Measurements = d.measurement
		if err := writeYAML(filepath.Join(pdir, "enclave.yaml"), ecfg); err != nil {
			return err
		}
		hcfg, err := host.LoadConfig(filepath.Join(pdir, "host.yaml"))
		if err != nil {
			return err
		}
		hcfg.Attestation.Policy.Measurements = d.measurement
		if err := writeYAML(filepath.Join(pdir, "host.yaml"), hcfg); err != nil {
			return err
		}
	}
}

// loadLayout reads the configurations of an initialized data directory.
func (d *devnet) loadLayout() error {
	roster, err := enclave.LoadRoster(filepath.Join(d.dir, rosterFileName))
	if err != nil {
		return err
	}
	d.info = DevnetInfo{Version: devnetVersion, DataDir: d.dir, TokenFile: filepath.Join(d.dir, apiTokenName), Threshold: roster.Threshold, Cluster: roster.ClusterID, PID: os.Getpid()}
	for _, rp := range roster.Parties {
		p := int(rp)
		hcfg, err := host.LoadConfig(filepath.Join(d.partyDir(p), "host.yaml"))
		if err != nil {
			return err
		}
		dp := DevnetParty{
			Party: p, API: "http://" + hcfg.API.Listen, Peer: hcfg.Peer.Listen,
			Metrics: "http://" + hcfg.Metrics.Listen + "/metrics", Enclave: hcfg.Enclave,
		}
		if hcfg.Web3Signer.Listen != "" {
			dp.Web3Signer = "http://" + hcfg.Web3Signer.Listen
		}
		if hcfg.Eth1.Listen != "" {
			dp.Eth1 = "http://" + hcfg.Eth1.Listen
			d.info.ChainID = hcfg.Eth1.ChainID
		}
		d.info.Parties = append(d.info.Parties, dp)
	}
	d.info.API = d.info.Parties[0].API
	d.info.Web3Signer = d.info.Parties[0].Web3Signer
	d.info.Eth1 = d.info.Parties[0].Eth1
	d.info.AttestationConfig = filepath.Join(d.dir, attestationConfigName)
	if d.info.Web3Signer != "" {
		d.info.KeymanagerTokenFile = filepath.Join(d.dir, keymanagerTokenName)
	}
	if pin, err := os.ReadFile(filepath.Join(d.dir, pkcs11PINName)); err == nil {
		d.info.PKCS11 = DevnetPKCS11{Config: filepath.Join(d.dir, pkcs11ConfName), UserPIN: strings.TrimSpace(string(pin))}
	}
	return nil
}

// child is one supervised process.
type child struct {
	name    string
	party   int
	enclave bool
	args    []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (d *devnet) startAll() error {
	for _, p := range d.info.Parties {
		pdir := d.partyDir(p.Party)
		d.children = append(d.children,
			&child{name: fmt.Sprintf("enclave %d", p.Party), party: p.Party, enclave: true, args: []string{"enclave", "--config", filepath.Join(pdir, "enclave.yaml")}, logPath: filepath.Join(pdir, "enclave.log")},
			&child{name: fmt.Sprintf("host %d", p.Party), party: p.Party, args: []string{"host", "--config", filepath.Join(pdir, "host.yaml")}, logPath: filepath.Join(pdir, "host.log")},
		)
	}
	for _, c := range d.children {
		if err := d.start(c); err != nil {
			return err
		}
	}
	return nil
}

// start launches c and supervises it: an unexpected exit is logged and restarted.
func (d *devnet) start(c *child) error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(d.self, c.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, so a terminal's Ctrl-C reaches only the devnet, which stops the
	// children in order; Pdeathsig ends them if the devnet itself is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", c.name, err)
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.done = cmd, done
	c.mu.Unlock()
	d.setPID(c, cmd.Process.Pid)
	go func() {
		err := cmd.Wait()
		logf.Close()
		close(done)
		d.mu.Lock()
		stopping := d.stopping
		d.mu.Unlock()
		if stopping {
			return
		}
		d.log.Warn("child exited; restarting", "child", c.name, "err", err, "after", d.opts.restartDelay)
		time.Sleep(d.opts.restartDelay)
		d.mu.Lock()
		stopping = d.stopping
		d.mu.Unlock()
		if stopping {
			return
		}
		if err := d.start(c); err != nil {
			d.log.Error("restart failed", "child", c.name, "err", err)
			return
		}
		if err := d.writeInfo(); err != nil {
			d.log.Error("updating devnet.json", "err", err)
		}
	}()
	return nil
}

func (d *devnet) setPID(c *child, pid int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.info.Parties {
		if d.info.Parties[i].Party == c.party {
			if c.enclave {
				d.info.Parties[i].EnclavePID = pid
			} else {
				d.info.Parties[i].HostPID = pid
			}
		}
	}
}

// stopAll ends the children: hosts first (they stop taking requests), then enclaves.
func (d *devnet) stopAll() {
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	for _, enclaves := range []bool{false, true} {
		var wg sync.WaitGroup
		for _, c := range d.children {
			if c.enclave != enclaves {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				stopChild(c)
			}()
		}
		wg.Wait()
	}
}

func stopChild(c *child) {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(devnetChildStop):
		_ = cmd.Process.Kill()
		<-done
	}
}

// waitReady waits until every host reaches every party and has every peer's attestation
// verified and accepted by its enclave.
func (d *devnet) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(d.opts.readyTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		notReady := ""
		for _, p := range d.info.Parties {
			var hc api.Healthcheck
			resp, err := client.Get(p.API + api.PathHealthcheck)
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&hc)
				resp.Body.Close()
			}
			if why := allAttested(hc, p.Party); err != nil || why != "" {
				notReady = fmt.Sprintf("host %d: %s", p.Party, why)
				if err != nil {
					notReady = fmt.Sprintf("host %d: %v", p.Party, err)
				}
				break
			}
		}
		if notReady == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the devnet did not come up within %s: %s; see the logs in %s/party-*/", d.opts.readyTimeout, notReady, d.dir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// allAttested says what is missing for host `self` to see every party reachable and attested
// ("" when nothing is).
func allAttested(hc api.Healthcheck, self int) string {
	if len(hc.Parties) == 0 {
		return "no answer yet"
	}
	for _, p := range hc.Parties {
		switch {
		case !p.Reachable:
			return fmt.Sprintf("party %d unreachable", p.Party)
		case !p.Verified || !p.Fresh:
			return fmt.Sprintf("party %d's attestation not verified yet (%s)", p.Party, p.Error)
		case int(p.Party) != self && !p.Accepted:
			return fmt.Sprintf("party %d's identity not yet accepted by enclave %d (%s)", p.Party, self, p.Error)
		}
	}
	return ""
}

// writeInfo writes devnet.json atomically. Snapshot and write happen under one lock: children
// restarting at the same time each write, and an older snapshot must never land last.
func (d *devnet) writeInfo() error {
	d.infoMu.Lock()
	defer d.infoMu.Unlock()
	d.mu.Lock()
	raw, err := json.MarshalIndent(d.info, "", "  ")
	d.mu.Unlock()
	if err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(d.dir, devnetFileName), append(raw, '\n'), 0o600)
}

func (d *devnet) printReady() {
	w := d.stdout
	fmt.Fprintf(w, "mpcsigner devnet ready: %d parties, any %d sign\n", len(d.info.Parties), d.info.Threshold)
	fmt.Fprintf(w, "  API:      %s (bearer token in %s)\n", d.info.API, d.info.TokenFile)
	if d.info.Eth1 != "" {
		fmt.Fprintf(w, "  eth1:     %s (JSON-RPC eth_* and account_*, Web3Signer eth1; chain id %d)\n", d.info.Eth1, d.info.ChainID)
	}
	if d.info.Web3Signer != "" {
		fmt.Fprintf(w, "  eth2:     %s (Web3Signer API for validator clients; Keymanager token in %s)\n", d.info.Web3Signer, d.info.KeymanagerTokenFile)
	}
	fmt.Fprintf(w, "  data:     %s\n", d.dir)
	fmt.Fprintf(w, "  devnet:   %s (every endpoint and pid)\n", filepath.Join(d.dir, devnetFileName))
	for _, p := range d.info.Parties {
		fmt.Fprintf(w, "  party %d:  api %s  metrics %s  enclave %s\n", p.Party, p.API, p.Metrics, p.Enclave)
	}
	if d.info.PKCS11.Config != "" {
		fmt.Fprintf(w, "  PKCS#11:  make pkcs11; export MPCSIGNER_PKCS11_CONF=%s  (user PIN %s)\n", d.info.PKCS11.Config, d.info.PKCS11.UserPIN)
	}
	fmt.Fprintf(w, "Try, in another terminal:\n  ./bin/mpcsigner key create --scheme ecdsa-secp256k1 --label demo\n  ./bin/mpcsigner sign --key demo --digest %s\n", hex.EncodeToString(make([]byte, 31))+"01")
	fmt.Fprintln(w, "The first key creation waits while the enclaves generate their pre-parameters (about a minute). Stop with Ctrl-C.")
}

func writeYAML(path string, v any) error {
	raw, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return durable.WriteFile(path, raw, 0o600)
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// readDevnetInfo reads devnet.json from a data directory.
func readDevnetInfo(dataDir string) (*DevnetInfo, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, devnetFileName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no devnet is running on %s (no %s): start one with 'make run', or pass --api and --token-file", dataDir, devnetFileName)
		}
		return nil, err
	}
	var info DevnetInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dataDir, devnetFileName), err)
	}
	return &info, nil
}
