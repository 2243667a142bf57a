package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/msg"
)

// routesExposureNotification registers the Exposure Notification key server.
func (s *Server) routesExposureNotification() {
	if s.Exposure == nil {
		return
	}
	s.api("POST", "/api/v1/en/verify", s.apiENVerify)
	s.api("POST", "/api/v1/en/publish", s.apiENPublish)
	s.api("GET", "/api/v1/en/signing-keys", s.apiENKeys)
	s.api("GET", "/en/export/{region}/{file}", s.enExportFile)
}

func (s *Server) apiENVerify(w http.ResponseWriter, r *http.Request) error {
	var in codeInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	cert, exp, err := s.Exposure.Verify(r.Context(), in.Code, clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, certificateAnswer{Certificate: cert, ExpiresAt: exp.UTC()})
	return nil
}

func (s *Server) apiENPublish(w http.ResponseWriter, r *http.Request) error {
	var in enPublishInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	f := errs.Fields{}
	keys := make([]exposure.Key, len(in.Keys))
	for i, k := range in.Keys {
		data, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			f.Add(fmt.Sprintf("keys[%d].key_data", i), msg.Both("web.en.key_base64"))
		}
		keys[i] = exposure.Key{Data: data, RollingStart: k.RollingStartNumber, RollingPeriod: k.RollingPeriod, TransmissionRisk: k.TransmissionRisk}
	}
	if err := f.Err(); err != nil {
		return fmt.Errorf("en publish: %w", err)
	}
	res, err := s.Exposure.Publish(r.Context(), in.Certificate, clientIP(r), keys)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) apiENKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Exposure.SigningKeys(r.Context())
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []exposure.PublicKeyInfo{}
	}
	writeJSON(w, http.StatusOK, signingKeysAnswer{Region: s.Exposure.Region, Keys: keys})
	return nil
}

var exportFileRE = regexp.MustCompile(`^(index\.txt|\d+-\d+-\d{5}\.zip)$`)

// enExportFile serves the published export files: immutable zips cached for
// a year, the index for five minutes.
func (s *Server) enExportFile(w http.ResponseWriter, r *http.Request) error {
	region, file := r.PathValue("region"), r.PathValue("file")
	if region != s.Exposure.Region || !exportFileRE.MatchString(file) {
		return fmt.Errorf("en export %s/%s: %w", region, file, errs.ErrNotFound)
	}
	// The files live in the database: every server serves the same set.
	var data []byte
	var at time.Time
	var err error
	cache, ctype := "public, max-age=31536000, immutable", "application/zip"
	if file == "index.txt" {
		var index string
		index, at, err = s.Exposure.Index(r.Context())
		data, cache, ctype = []byte(index), "public, max-age=300", "text/plain; charset=utf-8"
	} else {
		data, at, err = s.Exposure.File(r.Context(), region+"/"+file)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Content-Type", ctype)
	http.ServeContent(w, r, file, at, bytes.NewReader(data))
	return nil
}
