package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Storage is where scheduled backups go: a directory (Dir, the default) or
// an S3-compatible bucket (S3). A name is a file name, no directories.
type Storage interface {
	// Put stores what write writes under name, all or nothing: a backup
	// that failed halfway never carries the final name.
	Put(ctx context.Context, name string, write func(io.Writer) error) error
	// List returns the names stored, sorted.
	List(ctx context.Context) ([]string, error)
	// Remove deletes name.
	Remove(ctx context.Context, name string) error
	// String says where, without secrets, for logs.
	String() string
}

// S3Options are how to reach an S3-compatible service.
type S3Options struct {
	Endpoint  string // https://s3.amazonaws.com, or http(s)://host:port of MinIO, Ceph, a cloud's S3
	Region    string // empty: the service's default
	AccessKey string
	SecretKey string
}

// OpenStorage returns the storage of a --backup-dir: s3://bucket/prefix for
// a bucket, anything else a local directory (made, mode 0700).
func OpenStorage(where string, o S3Options) (Storage, error) {
	if !strings.HasPrefix(where, "s3://") {
		if err := os.MkdirAll(where, 0o700); err != nil {
			return nil, fmt.Errorf("backup directory: %w", err)
		}
		return Dir(where), nil
	}
	u, err := url.Parse(where)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--backup-dir %q: want s3://bucket/prefix", where)
	}
	e, err := url.Parse(o.Endpoint)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
		return nil, fmt.Errorf("--backup-s3-endpoint %q: want https://host[:port]", o.Endpoint)
	}
	if o.AccessKey == "" || o.SecretKey == "" {
		return nil, errors.New("--backup-dir s3://...: needs ANTICOVID_BACKUP_S3_ACCESS_KEY and ANTICOVID_BACKUP_S3_SECRET_KEY (or their _FILE)")
	}
	c, err := minio.New(e.Host, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Secure: e.Scheme == "https", Region: o.Region})
	if err != nil {
		return nil, fmt.Errorf("backup bucket: %w", err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: c, bucket: u.Host, prefix: prefix, endpoint: e.Host}, nil
}

// Dir is a local directory of backups.
type Dir string

// Put writes into a temporary file beside the final name and renames it.
func (d Dir) Put(_ context.Context, name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(string(d), "."+name+".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(string(d), name))
}

// List returns the regular files of the directory, hidden ones (partial
// writes) left out.
func (d Dir) List(context.Context) ([]string, error) {
	entries, err := os.ReadDir(string(d))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Remove deletes a file.
func (d Dir) Remove(_ context.Context, name string) error {
	return os.Remove(filepath.Join(string(d), name))
}

func (d Dir) String() string { return string(d) }

// S3 is a prefix of an S3-compatible bucket (github.com/minio/minio-go).
type S3 struct {
	client         *minio.Client
	bucket, prefix string
	endpoint       string
}

// partSize bounds the memory of an upload of unknown length: minio-go
// buffers one part at a time (its default for an unknown length is
// hundreds of megabytes).
const partSize = 16 << 20

// Put streams the backup as a multipart upload: S3 shows the object only
// once the upload completes, and a failed write aborts it.
func (s *S3) Put(ctx context.Context, name string, write func(io.Writer) error) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	// The parts' payload is not signed (on HTTPS minio-go never signs it;
	// on plain HTTP it would use aws-chunked streaming signatures, which not
	// every S3-compatible server decodes): the backup is age's authenticated
	// encryption, so a restore refuses any altered byte anyway.
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+name, pr, -1, minio.PutObjectOptions{PartSize: partSize,
		ContentType: "application/octet-stream", DisableContentSha256: true})
	pr.CloseWithError(err) // a write still running stops
	if err != nil {
		return fmt.Errorf("backup to %s: %w", s, err)
	}
	return nil
}

// List returns the object names under the prefix, the prefix cut off.
func (s *S3) List(ctx context.Context) ([]string, error) {
	var names []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s: %w", s, o.Err)
		}
		if n := strings.TrimPrefix(o.Key, s.prefix); n != "" && !strings.Contains(n, "/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Remove deletes an object.
func (s *S3) Remove(ctx context.Context, name string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+name, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("remove %s from %s: %w", name, s, err)
	}
	return nil
}

func (s *S3) String() string { return "s3://" + path.Join(s.bucket, s.prefix) + " at " + s.endpoint }

// Prune removes all but the newest keep backups (names prefix…suffix,
// which carry a sortable UTC time) from st.
func Prune(ctx context.Context, st Storage, prefix, suffix string, keep int) error {
	all, err := st.List(ctx)
	if err != nil {
		return fmt.Errorf("prune backups: %w", err)
	}
	var names []string
	for _, n := range all {
		if strings.HasPrefix(n, prefix) && strings.HasSuffix(n, suffix) {
			names = append(names, n)
		}
	}
	for len(names) > keep {
		if err := st.Remove(ctx, names[0]); err != nil {
			return fmt.Errorf("prune backups: %w", err)
		}
		names = names[1:]
	}
	return nil
}
