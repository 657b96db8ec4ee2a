package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Wire is what wire writes: the HTTP requests a command sent to the target,
// counted on the loopback interface by tcpdump, whatever the tool says of them.
type Wire struct {
	Command  []string `json:"command"`
	ExitCode int      `json:"exit_code"`
	// Requests counts the request lines seen, ByEndpoint by "METHOD /path"
	// (the query dropped).
	Requests   int            `json:"requests"`
	ByEndpoint map[string]int `json:"by_endpoint"`
	// Dropped is what tcpdump says the kernel dropped: a count with drops is a
	// lower bound.
	Dropped int `json:"dropped"`
}

// wire runs a command with tcpdump capturing the first segment of every HTTP
// request sent to the target's port, and writes a Wire as JSON. Needs root
// (or CAP_NET_RAW) and tcpdump.
func wire(args []string) error {
	fs := flag.NewFlagSet("wire", flag.ContinueOnError)
	out := fs.String("out", "", "JSON file to write")
	port := fs.Int("port", 0, "the target's TCP port on loopback")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *port == 0 || fs.NArg() == 0 {
		return errors.New("wire: want -out FILE -port P -- CMD [ARG...]")
	}
	// Segments to the port whose payload starts with a method: "GET ", "POST".
	filter := fmt.Sprintf("tcp dst port %d and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x504f5354)", *port)
	td := exec.Command("tcpdump", "-i", "lo", "-nn", "-l", "-A", "-s", "512", filter)
	stdout, err := td.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := td.StderrPipe()
	if err != nil {
		return err
	}
	if err := td.Start(); err != nil {
		return fmt.Errorf("wire: tcpdump: %w", err)
	}
	counted := make(chan map[string]int, 1)
	go func() { counted <- countRequests(stdout) }()
	// tcpdump says "listening on lo" once its filter is in place, and how many
	// packets the kernel dropped when it ends.
	ready, said := make(chan struct{}), make(chan string, 1)
	go func() {
		var b strings.Builder
		waiting := true
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if waiting && strings.Contains(sc.Text(), "listening on") {
				close(ready)
				waiting = false
			}
		}
		said <- b.String()
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		return errors.New("wire: tcpdump did not start listening within 5s")
	}

	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	runErr := cmd.Run()
	time.Sleep(500 * time.Millisecond) // the last segments through the capture
	_ = td.Process.Signal(syscall.SIGINT)
	by, tdSaid := <-counted, <-said
	_ = td.Wait()

	w := Wire{Command: fs.Args(), ByEndpoint: by, Dropped: droppedByKernel(tdSaid)}
	if cmd.ProcessState != nil {
		w.ExitCode = cmd.ProcessState.ExitCode()
	} else if runErr != nil {
		return runErr
	}
	for _, n := range by {
		w.Requests += n
	}
	data, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(*out, append(data, '\n'), 0o644)
}

var requestLine = regexp.MustCompile(`(GET|POST) (/[^ ?]*)\S* HTTP/1\.[01]`)

// countRequests counts the request lines in tcpdump -A output, by endpoint.
func countRequests(r io.Reader) map[string]int {
	by := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := requestLine.FindStringSubmatch(sc.Text()); m != nil {
			by[m[1]+" "+m[2]]++
		}
	}
	return by
}

var droppedLine = regexp.MustCompile(`(\d+) packets dropped by kernel`)

func droppedByKernel(stderr string) int {
	m := droppedLine.FindStringSubmatch(stderr)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
