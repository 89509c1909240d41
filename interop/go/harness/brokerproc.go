package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BrokerBinary is RMQ_BROKER_BIN or target/debug/mqbroker.
func BrokerBinary() string { return Binary("RMQ_BROKER_BIN", "mqbroker") }

// StartBroker starts our broker (broker-a, 127.0.0.1, ephemeral port, fresh store, 64 MiB
// commit-log files) registered with nsAddr, and stops it (SIGTERM) when the test ends. Extra
// options are passed as --key value and win over the defaults.
func StartBroker(t testing.TB, nsAddr string, options ...string) *Server {
	t.Helper()
	bin := RequireBinary(t, BrokerBinary(), "build it with `cargo build -p rmq-broker` (interop/run.sh does) or set RMQ_BROKER_BIN")
	dir, err := os.MkdirTemp(mustMkdir(t, ScratchDir()), "broker-")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", nsAddr, "--listenPort", "0", "--brokerIP1", "127.0.0.1", "--brokerName", "broker-a",
		"--storePathRootDir", filepath.Join(dir, "store"), "--mappedFileSizeCommitLog", "67108864"}
	args = append(args, options...)
	s, err := StartServer("mqbroker", bin, args, dir, filepath.Join(dir, "output.log"), 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if code := s.Stop(10 * time.Second); code == -1 {
			t.Errorf("broker ignored SIGTERM for 10 s and was killed\n%s", s.Tail())
		}
		// a passing run leaves no store behind (commit-log files are 64 MiB each)
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		}
	})
	return s
}
