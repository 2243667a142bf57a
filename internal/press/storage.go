package press

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
)

// Storage keeps the materials' file contents by key. The default is the
// database (DBStorage): every server of a deployment shares it, where a
// local directory would leave a file on the one server that took the
// upload. Another store (an S3-compatible bucket) plugs in behind the same
// three methods.
type Storage interface {
	// Put stores everything r yields under key and returns the size.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get opens what is stored under key; errs.ErrNotFound when nothing is.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes what is stored under key (nothing stored is no error).
	Delete(ctx context.Context, key string) error
}

// chunkSize is the most bytes one press_blobs row holds.
const chunkSize = 1 << 20

// DBStorage keeps files in press_blobs, in chunks of chunkSize: each chunk is
// its own short write (a slow upload never holds SQLite's one writer), and
// a download reads one chunk at a time.
type DBStorage struct {
	DB *sqldb.DB
}

// Put writes r's chunks; on any failure it removes what it wrote.
func (s DBStorage) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	buf := make([]byte, chunkSize)
	var size int64
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, werr := s.DB.W.ExecContext(ctx, `INSERT INTO press_blobs (blob_key, seq, data) VALUES ($1, $2, $3)`, key, seq, buf[:n]); werr != nil {
				s.Delete(context.WithoutCancel(ctx), key)
				return 0, fmt.Errorf("store file: %w", werr)
			}
			size += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return size, nil
		}
		if err != nil {
			s.Delete(context.WithoutCancel(ctx), key)
			return 0, fmt.Errorf("store file: %w", err)
		}
	}
}

// Get returns a reader that fetches the chunks in order as it is read.
func (s DBStorage) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	var n int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM press_blobs WHERE blob_key = $1`, key).Scan(&n); err != nil {
		return nil, fmt.Errorf("open file: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("open file: %w", errs.ErrNotFound)
	}
	return &chunkReader{ctx: ctx, db: s.DB, key: key, chunks: n}, nil
}

// Delete removes every chunk of key.
func (s DBStorage) Delete(ctx context.Context, key string) error {
	if _, err := s.DB.W.ExecContext(ctx, `DELETE FROM press_blobs WHERE blob_key = $1`, key); err != nil {
		return fmt.Errorf("delete file: %w", err)
	}
	return nil
}

type chunkReader struct {
	ctx    context.Context
	db     *sqldb.DB
	key    string
	chunks int
	next   int
	cur    []byte
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.next >= c.chunks {
			return 0, io.EOF
		}
		err := c.db.R.QueryRowContext(c.ctx, `SELECT data FROM press_blobs WHERE blob_key = $1 AND seq = $2`, c.key, c.next).Scan(&c.cur)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("read file chunk %d: %w", c.next, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return 0, fmt.Errorf("read file chunk %d: %w", c.next, err)
		}
		c.next++
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

func (c *chunkReader) Close() error { return nil }
