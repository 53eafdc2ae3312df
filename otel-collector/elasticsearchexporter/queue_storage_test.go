package elasticsearchexporter

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter/internal/metadata"
)

// diskStorage is an in-memory storage extension (the interface file_storage
// implements) whose transactions fail with ENOSPC while the disk is "full".
// Which transactions fail is what a full bbolt file decides: one that fits in
// the file's free pages commits, one that needs a new page fails. fail picks
// them from the operations of the transaction.
type diskStorage struct {
	mu   sync.Mutex
	data map[string][]byte
	full atomic.Bool
	fail func(ops []*storage.Operation) bool
}

func (d *diskStorage) Start(context.Context, component.Host) error { return nil }
func (d *diskStorage) Shutdown(context.Context) error              { return nil }

func (d *diskStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return d, nil
}

func (d *diskStorage) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	err := d.Batch(ctx, op)
	return op.Value, err
}

func (d *diskStorage) Set(ctx context.Context, key string, value []byte) error {
	return d.Batch(ctx, storage.SetOperation(key, value))
}

func (d *diskStorage) Delete(ctx context.Context, key string) error {
	return d.Batch(ctx, storage.DeleteOperation(key))
}

// Batch is one transaction: all operations or none, as in bbolt.
func (d *diskStorage) Batch(_ context.Context, ops ...*storage.Operation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.full.Load() && d.fail(ops) {
		return fmt.Errorf("write queue/exporter_elasticsearch__logs: %w", syscall.ENOSPC)
	}
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = d.data[op.Key]
		case storage.Set:
			d.data[op.Key] = op.Value
		case storage.Delete:
			delete(d.data, op.Key)
		}
	}
	return nil
}

func (d *diskStorage) Close(context.Context) error { return nil }

// hasOp reports whether a transaction holds an operation of type t.
func hasOp(ops []*storage.Operation, t storage.OpType) bool {
	for _, op := range ops {
		if op.Type == t {
			return true
		}
	}
	return false
}

type storageHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// The logs exporter on a persistent sending queue (as in config.yaml) whose
// storage runs out of space while Elasticsearch is down, as in reliability drill
// 5 (docs/reliability.md): every record the exporter accepted must be indexed
// once the space returns and Elasticsearch is back; what it cannot store it must
// refuse (the sender keeps it and retries). Without the storage guard
// (storage_guard.go) exporterhelper v0.165.0 deletes every item whose dispatch
// transaction fails, unsent and uncounted: the middle two cases lose records.
// While the disk is full the Collector's own metrics must keep answering (the
// queue-size gauge takes the queue's lock) wherever a read still commits.
func TestPersistentQueueStorageFull(t *testing.T) {
	cases := []struct {
		name string
		fail func(ops []*storage.Operation) bool
		// metricsAnswer: the queue is never held, so its gauges can be read.
		metricsAnswer bool
	}{
		{
			// The Collector's own report: "Exporting failed. Rejecting data."
			name: "enqueue fails, dispatch and delete commit",
			fail: func(ops []*storage.Operation) bool {
				return hasOp(ops, storage.Set) && !hasOp(ops, storage.Get) && !hasOp(ops, storage.Delete)
			},
			metricsAnswer: true,
		},
		{
			// Records queued before the disk filled are dispatched on the full disk.
			name:          "every write fails",
			fail:          func(ops []*storage.Operation) bool { return hasOp(ops, storage.Set) || hasOp(ops, storage.Delete) },
			metricsAnswer: true,
		},
		{
			// Drill 5: the enqueue fits in the file's free pages, the dispatch does not.
			name:          "enqueue commits, dispatch fails",
			fail:          func(ops []*storage.Operation) bool { return hasOp(ops, storage.Get) && hasOp(ops, storage.Set) },
			metricsAnswer: true,
		},
		{
			// Not even a read commits: the guard holds the queue until one does.
			name: "nothing commits",
			fail: func([]*storage.Operation) bool { return true },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := newQueueTarget(t)
			disk := &diskStorage{data: map[string][]byte{}, fail: tc.fail}
			q := startQueuedLogs(t, disk, es.url)
			defer func() { _ = q.exp.Shutdown(context.Background()) }()

			s := &logSender{accepted: map[string]bool{}}
			// Elasticsearch down: the queue holds everything.
			s.send(q.exp, 0, 10)
			disk.full.Store(true)
			// While full an enqueue may wait for the queue (if the guard holds it):
			// the space returns after 1.5 s whether or not the sending is done.
			sent := make(chan struct{})
			go func() { defer close(sent); s.send(q.exp, 10, 20) }()
			time.Sleep(300 * time.Millisecond)
			answered := make(chan error, 1)
			go func() {
				_, err := q.tel.GetMetric("otelcol_exporter_queue_size")
				answered <- err
			}()
			select {
			case err := <-answered:
				if err != nil {
					t.Errorf("queue size gauge: %v", err)
				}
			case <-time.After(500 * time.Millisecond):
				if tc.metricsAnswer {
					t.Errorf("the queue-size gauge did not answer within 500 ms with the disk full: the queue is held and the Collector's metrics endpoint would hang")
				}
			}
			time.Sleep(700 * time.Millisecond)
			disk.full.Store(false)
			<-sent
			es.up.Store(true)
			s.send(q.exp, 30, 10)
			s.expectIndexed(t, es.f)
		})
	}
}

// A Collector stopped while the guard dispatches from memory (the queue's
// metadata on disk lagging) and started again on the same files once the space
// returns must send every record it accepted: the lag may cost a replay (a 409
// per document in Elasticsearch), never a record.
func TestPersistentQueueRestartWhileDispatchingFromMemory(t *testing.T) {
	es := newQueueTarget(t)
	// Drill 5's case: enqueues fit in the file's free pages, dispatches do not.
	disk := &diskStorage{data: map[string][]byte{}, fail: func(ops []*storage.Operation) bool {
		return hasOp(ops, storage.Get) && hasOp(ops, storage.Set)
	}}
	q := startQueuedLogs(t, disk, es.url)
	s := &logSender{accepted: map[string]bool{}}
	s.send(q.exp, 0, 10)
	disk.full.Store(true)
	s.send(q.exp, 10, 20)
	deadline := time.Now().Add(5 * time.Second)
	for q.logs.FilterMessageSnippet("dispatching queued items from memory").Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if q.logs.FilterMessageSnippet("dispatching queued items from memory").Len() == 0 {
		t.Error("no dispatch from memory within 5 s: the test no longer exercises the guard")
	}
	// Time for the dispatched items to reach the exporter's retries; then it is
	// stopped with the disk still full and Elasticsearch still down.
	time.Sleep(300 * time.Millisecond)
	if err := q.exp.Shutdown(context.Background()); err != nil {
		t.Logf("shutdown on the full disk: %v", err)
	}
	disk.full.Store(false)
	es.up.Store(true)
	again := startQueuedLogs(t, disk, es.url)
	defer func() { _ = again.exp.Shutdown(context.Background()) }()
	s.expectIndexed(t, es.f)
}

// queueTarget is a fake Elasticsearch that answers 503 until up is set.
type queueTarget struct {
	f   *fakeES
	up  *atomic.Bool
	url string
}

func newQueueTarget(t *testing.T) queueTarget {
	t.Helper()
	up := &atomic.Bool{}
	f := &fakeES{respond: func(_ int, a []bulkAction) (int, []int) {
		if !up.Load() {
			return 503, nil
		}
		st := make([]int, len(a))
		for i := range st {
			st[i] = 201
		}
		return 200, st
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return queueTarget{f: f, up: up, url: srv.URL}
}

type queuedLogs struct {
	exp  exporter.Logs
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
}

// startQueuedLogs starts the logs exporter on a persistent queue kept in disk,
// with the queue and batch settings of config.yaml scaled down to milliseconds.
func startQueuedLogs(t *testing.T, disk *diskStorage, url string) queuedLogs {
	t.Helper()
	storageID := component.MustNewID("file_storage")
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{url}
	cfg.LogsIndex = "logs-alertingscout"
	cfg.BackOffConfig.InitialInterval = 10 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 20 * time.Millisecond
	cfg.BackOffConfig.MaxElapsedTime = 0
	qs := cfg.QueueBatchConfig.Get()
	qs.StorageID = &storageID
	qs.NumConsumers = 2
	batch := qs.Batch.Get()
	batch.FlushTimeout = 20 * time.Millisecond
	batch.MinSize = 500
	qs.Batch = configoptional.Some(*batch)

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	core, logs := observer.New(zap.InfoLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := storageHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{storageID: disk}}
	if err := exp.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	return queuedLogs{exp: exp, tel: tel, logs: logs}
}

// logSender sends records "request N" and remembers which the exporter accepted.
type logSender struct {
	mu       sync.Mutex
	accepted map[string]bool
	refused  int
}

func (s *logSender) send(exp exporter.Logs, from, n int) {
	for seq := from; seq < from+n; seq++ {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(testTime))
		lr.Body().SetStr(fmt.Sprintf("request %d", seq))
		lr.Attributes().PutInt("seq", int64(seq))
		err := exp.ConsumeLogs(context.Background(), ld)
		s.mu.Lock()
		if err != nil {
			s.refused++
		} else {
			s.accepted[fmt.Sprintf("request %d", seq)] = true
		}
		s.mu.Unlock()
	}
}

// expectIndexed waits up to 5 s for every accepted record to reach f.
func (s *logSender) expectIndexed(t *testing.T, f *fakeES) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	indexed := func() map[string]bool {
		got := map[string]bool{}
		for _, call := range f.calls() {
			for _, a := range call {
				if msg, ok := a.Doc["message"].(string); ok {
					got[msg] = true
				}
			}
		}
		return got
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(indexed()) < len(s.accepted) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := indexed()
	var missing []string
	for m := range s.accepted {
		if !got[m] {
			missing = append(missing, m)
		}
	}
	t.Logf("accepted %d, refused %d, indexed %d", len(s.accepted), s.refused, len(got))
	if len(s.accepted) == 0 {
		t.Error("the exporter accepted nothing: the test checks nothing")
	}
	if len(missing) > 0 {
		t.Errorf("%d accepted records never reached Elasticsearch (silently dropped by the queue): %v", len(missing), missing)
	}
}
