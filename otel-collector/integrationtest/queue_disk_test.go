package integrationtest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// queueDisk is a size-limited tmpfs mounted for one test (root only): the
// persistent queue's folder on a disk that can be filled to the last byte.
type queueDisk struct {
	dir    string
	filler string
}

// mountQueueDisk mounts a tmpfs of sizeMiB at a fresh folder and unmounts it
// when the test ends (also on failure). It skips the test when it cannot mount
// (not root, no tmpfs), unless QUEUE_DISK_TEST=require.
func mountQueueDisk(t *testing.T, sizeMiB int) *queueDisk {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "queue")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(sizeMiB)+"m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := "cannot mount a tmpfs (needs root): " + strings.TrimSpace(string(out))
		if os.Getenv("QUEUE_DISK_TEST") == "require" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		// Lazy unmount: a Collector still shutting down must not keep it mounted.
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return &queueDisk{dir: dir, filler: filepath.Join(dir, "filler")}
}

// fill writes a file until the disk has no byte left (ENOSPC).
func (d *queueDisk) fill(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(d.filler, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for _, size := range []int{64 << 10, 4 << 10, 1} {
		for {
			if _, err := f.Write(buf[:size]); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the queue disk: %v", err)
				}
				break
			}
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err == nil {
		t.Logf("queue disk full: %d bytes free", st.Bavail*uint64(st.Bsize))
	}
}

func (d *queueDisk) free(t *testing.T) {
	t.Helper()
	if err := os.Remove(d.filler); err != nil {
		t.Fatal(err)
	}
}

// switchableES forwards to the shared Elasticsearch, or, while down, drops
// every connection (as a stopped node does).
func switchableES(t *testing.T) (*httptest.Server, *atomic.Bool) {
	t.Helper()
	target, err := url.Parse(esURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			panic(http.ErrAbortHandler)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &down
}

// makeSpans builds spans [from, from+n) of a run, one per request as the
// service's server spans.
func makeSpans(run string, from, n int64, base time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "alertingscout")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := from; i < from+n; i++ {
		s := ss.Spans().AppendEmpty()
		start := base.Add(time.Duration(i) * time.Millisecond)
		s.SetTraceID(traceIDFor(run, i))
		s.SetSpanID(spanIDFor(i))
		s.SetName("POST /projects/{id}/todos")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(2 * time.Millisecond)))
		s.Attributes().PutInt("seq", i)
		s.Attributes().PutStr("request_id", fmt.Sprintf("%s-req-%07d", run, i))
		s.Attributes().PutStr("http.route", "/projects/{id}/todos")
	}
	return td
}

// The persistent queue's disk full while Elasticsearch is down, as in
// reliability drill 5 (docs/reliability.md), on a real 16 MiB tmpfs (root only:
// skipped otherwise, QUEUE_DISK_TEST=require fails instead): every record the
// Collector acknowledged (HTTP 200) must be indexed once the space returns and
// Elasticsearch is back; what it cannot store it must refuse (the sender
// retries it) and say so in its log. Load runs through the whole fault: every
// interval one logs and one traces request of perReq records each. Which bbolt
// transaction meets the full disk first depends on the queue files' free pages,
// so this end-to-end check may pass without the storage guard; the exporter's
// TestPersistentQueueStorageFull reproduces the drill's loss deterministically.
func TestQueueDiskFull(t *testing.T) {
	cases := []struct {
		name     string
		config   string
		perReq   int64         // records per OTLP request
		interval time.Duration // between requests of one signal
		fullFor  time.Duration // how long the disk stays full
		// Elasticsearch stops before the load, comes back while the disk is
		// still full: the queue's backlog is read from a full disk.
		upWhileFull bool
		batchMin    int
		consumers   int
	}{
		{name: "logs and traces, one record per request", config: "collector-queue-disk.yaml", perReq: 1, interval: 50 * time.Millisecond, fullFor: 10 * time.Second, batchMin: 500, consumers: 2},
		{name: "logs and traces, 20 records per request", config: "collector-queue-disk.yaml", perReq: 20, interval: time.Second, fullFor: 10 * time.Second, batchMin: 500, consumers: 2},
		{name: "backlog read from a full disk", config: "collector-queue-disk.yaml", perReq: 20, interval: 100 * time.Millisecond, fullFor: 10 * time.Second, upWhileFull: true, batchMin: 1, consumers: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			disk := mountQueueDisk(t, 16)
			es, down := switchableES(t)
			logsIdx := uniqueName(t, "logs", "queuediskfull")
			tracesIdx := uniqueName(t, "traces", "queuediskfull")
			c := newCollector(t, collectorOpts{
				config: tc.config, logsIndex: logsIdx, tracesIndex: tracesIdx, storageDir: disk.dir,
				numConsumers: tc.consumers, batchMin: tc.batchMin, batchMax: 5000, esEndpoint: es.URL,
			})
			c.start()
			run := logsIdx
			base := time.Now()
			logsAcked, spansAcked := &ackSet{}, &ackSet{}
			var refusedLogs, refusedSpans, sent atomic.Int64
			stop := make(chan struct{})
			loadDone := make(chan struct{})
			go func() {
				defer close(loadDone)
				tick := time.NewTicker(tc.interval)
				defer tick.Stop()
				for seq := int64(0); ; seq += tc.perReq {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if err := sendLogs(c.otlpPort, makeLogs(run, seq, tc.perReq, base)); err == nil {
						logsAcked.add(seq, tc.perReq)
					} else {
						refusedLogs.Add(tc.perReq)
					}
					if err := sendTraces(c.otlpPort, makeSpans(run, seq, tc.perReq, base)); err == nil {
						spansAcked.add(seq, tc.perReq)
					} else {
						refusedSpans.Add(tc.perReq)
					}
					sent.Store(seq + tc.perReq)
				}
			}()
			if tc.upWhileFull {
				down.Store(true)
			}
			time.Sleep(3 * time.Second)
			down.Store(true)
			disk.fill(t)
			if tc.upWhileFull {
				time.Sleep(tc.fullFor / 2)
				down.Store(false)
				time.Sleep(tc.fullFor / 2)
			} else {
				time.Sleep(tc.fullFor)
			}
			disk.free(t)
			down.Store(false)
			time.Sleep(3 * time.Second)
			close(stop)
			<-loadDone
			t.Logf("sent %d records per signal; refused: %d log records, %d spans", sent.Load(), refusedLogs.Load(), refusedSpans.Load())

			waitCount(t, logsIdx+"-*", logsAcked.len(), 90*time.Second)
			waitCount(t, tracesIdx+"-*", spansAcked.len(), 30*time.Second)
			checkExactlyOnce(t, logsIdx+"-*", logsAcked.ack, sent.Load())
			checkExactlyOnce(t, tracesIdx+"-*", spansAcked.ack, sent.Load())
			if refusedLogs.Load()+refusedSpans.Load() > 0 && !strings.Contains(c.logs(), "no space left on device") {
				t.Errorf("records refused but no \"no space left on device\" in the Collector's log")
			}
		})
	}
}
