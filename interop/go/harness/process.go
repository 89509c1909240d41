package harness

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ListeningMarker precedes HOST:PORT in the boot line every server of ours prints.
const ListeningMarker = "listening on "

// ParseListeningAddress extracts HOST:PORT from a boot line, or "" if there is none.
func ParseListeningAddress(line string) string {
	i := strings.Index(line, ListeningMarker)
	if i < 0 {
		return ""
	}
	rest := strings.TrimSpace(line[i+len(ListeningMarker):])
	if sp := strings.IndexByte(rest, ' '); sp >= 0 {
		rest = rest[:sp]
	}
	rest = strings.TrimRight(rest, ".,;)")
	colon := strings.LastIndexByte(rest, ':')
	if colon <= 0 || colon == len(rest)-1 {
		return ""
	}
	for _, ch := range rest[colon+1:] {
		if ch < '0' || ch > '9' {
			return ""
		}
	}
	return rest
}

// Server is a child process that announced its address on stdout.
type Server struct {
	Name    string
	Addr    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	tail    []string
	exitErr error
}

// StartServer runs command with args in dir, copies its output to logPath and waits (up to
// bootTimeout) for the "listening on HOST:PORT" line.
func StartServer(name, command string, args []string, dir, logPath string, bootTimeout time.Duration) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(command, args...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // merged: reading one pipe
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", command, err)
	}
	s := &Server{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	addrCh := make(chan string, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer logFile.Close()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		found := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			s.mu.Lock()
			s.tail = append(s.tail, line)
			if len(s.tail) > 200 {
				s.tail = s.tail[1:]
			}
			s.mu.Unlock()
			if !found {
				if a := ParseListeningAddress(line); a != "" {
					found = true
					addrCh <- a
				}
			}
		}
	}()
	go func() {
		// Wait closes the pipe: only call it once everything the child wrote has been copied
		<-readerDone
		err := cmd.Wait()
		s.mu.Lock()
		s.exitErr = err
		s.mu.Unlock()
		close(s.done)
	}()
	select {
	case a := <-addrCh:
		s.Addr = a
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("%s exited before announcing its address (%v)\n%s", name, s.exitErr, s.Tail())
	case <-time.After(bootTimeout):
		s.Stop(5 * time.Second)
		return nil, fmt.Errorf("%s printed no %q line within %s\n%s", name, ListeningMarker, bootTimeout, s.Tail())
	}
}

// Tail returns the last lines the server printed, with the log path.
func (s *Server) Tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("--- last output of %s (log: %s) ---\n%s\n---", s.Name, s.LogPath, strings.Join(s.tail, "\n"))
}

// Stop sends SIGTERM and waits up to grace; then SIGKILL. It returns the exit code, or -1 if
// the process had to be killed.
func (s *Server) Stop(grace time.Duration) int {
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(grace):
		// same process group as the test on purpose: Ctrl-C on `go test` reaches the server too
		_ = s.cmd.Process.Kill()
		<-s.done
		return -1
	}
}
