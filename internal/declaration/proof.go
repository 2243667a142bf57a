package declaration

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// pendingPurpose separates the proof step's handles from every other tag.
const pendingPurpose = "anticovid/declaration-pending/v1"

// pendingHandle names an unproven declaration for its proof step: the
// declaration and its person, tagged so that nobody can name another one
// (the step sends a code to that person's stored phone).
func (s *Service) pendingHandle(declID, personID int64) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(declID))
	b = binary.BigEndian.AppendUint64(b, uint64(personID))
	return base64.RawURLEncoding.EncodeToString(append(b, s.Vault.Tag(pendingPurpose, b)...))
}

// Pending returns the person an unproven declaration's handle names (the
// one whose stored phone the proof code goes to), and its declaration.
func (s *Service) Pending(handle string) (personID, declID int64, err error) {
	b, derr := base64.RawURLEncoding.DecodeString(handle)
	if derr != nil || len(b) != 16+tagLen || !s.Vault.CheckTag(pendingPurpose, b[:16], b[16:]) {
		return 0, 0, fmt.Errorf("declaration proof: %w", &errs.Invalid{Fields: map[string]string{"pending": msg.Both("decl.proof.bad_handle")}})
	}
	return int64(binary.BigEndian.Uint64(b[8:16])), int64(binary.BigEndian.Uint64(b[:8])), nil
}

// Prove makes the declaration a handle names proven, for a device whose
// proof cookie names device, and returns it with its personal QR. A device
// proven for anyone else gets ErrForbidden: a proof is for one's own phone.
func (s *Service) Prove(ctx context.Context, handle string, device int64) (Result, error) {
	personID, declID, err := s.Pending(handle)
	if err != nil {
		return Result{}, err
	}
	if device == 0 || device != personID {
		return Result{}, fmt.Errorf("declaration %d: proof for another person: %w", declID, errs.ErrForbidden)
	}
	if err := s.markProven(ctx, declID, personID); err != nil {
		return Result{}, err
	}
	r := Result{ID: declID, PersonID: personID}
	var flagA, flagB int
	var created, expires int64
	err = s.DB.R.QueryRowContext(ctx, `SELECT kind, has_symptoms, had_contact, created_at, expires_at, proof
		FROM declarations WHERE id = $1 AND person_id = $2`, declID, personID).
		Scan(&r.Kind, &flagA, &flagB, &created, &expires, &r.Proof)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, fmt.Errorf("declaration %d: %w", declID, errs.ErrNotFound)
	}
	if err != nil {
		return Result{}, fmt.Errorf("declaration %d: %w", declID, err)
	}
	r.Flagged = flagA != 0 || flagB != 0
	r.CreatedAt, r.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC()
	s.sign(&r, device)
	return r, nil
}

// markProven raises a declaration of personID to PhoneProven.
func (s *Service) markProven(ctx context.Context, declID, personID int64) error {
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE declarations SET proof = $1 WHERE id = $2 AND person_id = $3 AND proof < $1",
		PhoneProven, declID, personID); err != nil {
		return fmt.Errorf("declaration %d: %w", declID, err)
	}
	return nil
}
