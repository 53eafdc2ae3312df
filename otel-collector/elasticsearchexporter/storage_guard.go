package elasticsearchexporter

import (
	"context"
	"maps"
	"sync"
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
// The guard hands the queue a storage client that retries that dispatch
// transaction (the only one holding both a Get and a Set) until it commits,
// instead of returning the error: the queue then waits for space (its enqueues
// wait too, the sender times out and retries) and loses nothing. Enqueue
// failures still return at once ("Exporting failed. Rejecting data.": the
// sender keeps the data). At shutdown the guard gives up (the error returns,
// and the item stays on disk when its delete fails too on the full disk).
type storageGuard struct {
	storageID component.ID
	logger    *zap.Logger
	interval  time.Duration
	stopOnce  sync.Once
	stopping  chan struct{}
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
	if err == nil || !isDispatch(ops) {
		return err
	}
	start := time.Now()
	c.g.logger.Warn("Persistent queue storage refused the dispatch of a queued item (disk full?); holding the queue until it commits, new data waits",
		zap.String("queue", c.name), zap.Error(err))
	t := time.NewTicker(c.g.interval)
	defer t.Stop()
	for err != nil {
		select {
		case <-c.g.stopping:
			c.g.logger.Error("Shutting down with the persistent queue's storage still failing; the item stays in storage unless its delete commits",
				zap.String("queue", c.name), zap.Error(err))
			return err
		case <-t.C:
		}
		err = c.Client.Batch(ctx, ops...)
	}
	c.g.logger.Info("Persistent queue storage writable again; dispatch resumed",
		zap.String("queue", c.name), zap.Duration("held", time.Since(start)))
	return nil
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
