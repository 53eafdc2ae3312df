package elasticsearchexporter

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// storageGuard works around a silent loss in exporterhelper's persistent queue
// (v0.165.0, exporter/exporterhelper/internal/queue/persistent_queue.go,
// getNextItem): when the queue hands an item to its consumer it commits one
// storage transaction (the new read index and dispatched list, plus the read of
// the item). If that transaction fails, as it does on a full disk (bbolt needs
// a free page for it: "no space left on device"), the queue logs at debug
// level, deletes the item and goes on: a record already acknowledged to the
// sender is gone, counted in no metric. Reliability drill 5 lost 201 log
// records that way (docs/reliability.md).
//
// The guard hands the queue a storage client that, when that dispatch
// transaction fails, reads the item alone (a transaction with nothing to write,
// which fits in the file's free pages where the metadata write did not) and
// reports success: the queue dispatches the item from memory and its metadata on
// disk lags until a later write commits. A restart before then sends those items
// again; their document ids make that a 409, not a second document. Only if even
// that read fails does the guard hold the dispatch, retrying until it commits.
// Holding is the last resort because the queue's mutex is held meanwhile: its
// enqueues wait, and so does the queue-size gauge, so the Collector's own
// metrics endpoint stops answering (a fresh-clone CI run hung on it in drill 5).
// Enqueue failures still return at once ("Exporting failed. Rejecting data.":
// the sender keeps the data). At shutdown the guard gives up (the error returns,
// and the item stays on disk when its delete fails too on the full disk).
type storageGuard struct {
	storageID component.ID
	logger    *zap.Logger
	interval  time.Duration
	stopOnce  sync.Once
	stopping  chan struct{}
	// degraded is set while dispatches bypass the disk, so that the warning is
	// logged once per episode rather than once per item.
	degraded atomic.Bool
}

func newStorageGuard(cfg *Config, logger *zap.Logger) *storageGuard {
	if !cfg.QueueBatchConfig.HasValue() || cfg.QueueBatchConfig.Get().StorageID == nil {
		return nil
	}
	return &storageGuard{
		storageID: *cfg.QueueBatchConfig.Get().StorageID,
		logger:    logger,
		interval:  200 * time.Millisecond,
		stopping:  make(chan struct{}),
	}
}

func (g *storageGuard) stop() { g.stopOnce.Do(func() { close(g.stopping) }) }

// host returns host with the queue's storage extension wrapped.
func (g *storageGuard) host(host component.Host) component.Host {
	return guardHost{Host: host, g: g}
}

type guardHost struct {
	component.Host
	g *storageGuard
}

func (h guardHost) GetExtensions() map[component.ID]component.Component {
	exts := h.Host.GetExtensions()
	ext, ok := exts[h.g.storageID].(storage.Extension)
	if !ok {
		return exts // the queue reports the missing or wrong extension itself
	}
	out := maps.Clone(exts)
	out[h.g.storageID] = guardExtension{Extension: ext, g: h.g}
	return out
}

type guardExtension struct {
	storage.Extension
	g *storageGuard
}

func (e guardExtension) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := e.Extension.GetClient(ctx, kind, id, name)
	if err != nil {
		return nil, err
	}
	return guardClient{Client: c, g: e.g, name: name}, nil
}

type guardClient struct {
	storage.Client
	g    *storageGuard
	name string
}

// isDispatch reports whether ops are the queue's dispatch transaction: the
// only one that both reads (the item) and writes (the queue's metadata).
func isDispatch(ops []*storage.Operation) bool {
	var get, set bool
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			get = true
		case storage.Set:
			set = true
		}
	}
	return get && set
}

func (c guardClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	err := c.Client.Batch(ctx, ops...)
	if !isDispatch(ops) {
		return err
	}
	if err == nil {
		if c.g.degraded.CompareAndSwap(true, false) {
			c.g.logger.Info("Persistent queue storage writable again; its metadata on disk is current",
				zap.String("queue", c.name))
		}
		return nil
	}
	if c.readOnly(ctx, ops) == nil {
		if c.g.degraded.CompareAndSwap(false, true) {
			c.g.logger.Warn("Persistent queue storage refused a write (disk full?); dispatching queued items from memory until a write commits (a restart meanwhile sends them again, deduplicated by document id); new data is refused",
				zap.String("queue", c.name), zap.Error(err))
		}
		return nil
	}
	start := time.Now()
	c.g.logger.Warn("Persistent queue storage refused even a read of a queued item; holding the queue until it commits: new data waits and the Collector's metrics endpoint stops answering",
		zap.String("queue", c.name), zap.Error(err))
	t := time.NewTicker(c.g.interval)
	defer t.Stop()
	for {
		select {
		case <-c.g.stopping:
			c.g.logger.Error("Shutting down with the persistent queue's storage still failing; the item stays in storage unless its delete commits",
				zap.String("queue", c.name), zap.Error(err))
			return err
		case <-t.C:
		}
		if err = c.Client.Batch(ctx, ops...); err == nil || c.readOnly(ctx, ops) == nil {
			c.g.logger.Info("Persistent queue storage readable again; dispatch resumed",
				zap.String("queue", c.name), zap.Duration("held", time.Since(start)))
			// Resumed from memory if the write still failed: one warning for the
			// episode already went out, and its end is logged when a write commits.
			c.g.degraded.Store(err != nil)
			return nil
		}
	}
}

// readOnly runs the reads of ops alone, filling their values.
func (c guardClient) readOnly(ctx context.Context, ops []*storage.Operation) error {
	gets := make([]*storage.Operation, 0, 1)
	for _, op := range ops {
		if op.Type == storage.Get {
			gets = append(gets, op)
		}
	}
	return c.Client.Batch(ctx, gets...)
}

// guardedLogs and guardedTraces start the exporterhelper exporter with the
// guarded host and stop the guard before it shuts down (so the shutdown's queue
// drain never waits on a full disk). Consuming and capabilities come from the
// embedded exporter.
type guardedLogs struct {
	exporter.Logs
	g *storageGuard
}

func (e guardedLogs) Start(ctx context.Context, host component.Host) error {
	return e.Logs.Start(ctx, e.g.host(host))
}

func (e guardedLogs) Shutdown(ctx context.Context) error {
	e.g.stop()
	return e.Logs.Shutdown(ctx)
}

type guardedTraces struct {
	exporter.Traces
	g *storageGuard
}

func (e guardedTraces) Start(ctx context.Context, host component.Host) error {
	return e.Traces.Start(ctx, e.g.host(host))
}

func (e guardedTraces) Shutdown(ctx context.Context) error {
	e.g.stop()
	return e.Traces.Shutdown(ctx)
}
