package web

import (
	"context"
	"sync"
	"time"

	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/dashboard"
	"anticovid/internal/reports"
)

// Ops are the operations centre's services: the live dashboard and public
// map, weekly reports, quarantine cameras and campaigns. When nil, none of
// their routes exist.
type Ops struct {
	Dashboard *dashboard.Service
	Reports   *reports.Service
	Cameras   *camera.Service
	Campaigns *campaign.Service
	// MapTiles is an optional tile server URL template for the public map
	// ({z}/{x}/{y}); empty: the schematic map, which needs no internet.
	MapTiles       string
	MapAttribution string
}

// RunOps runs the operations centre's background work until ctx ends: the
// dashboard refresher, the camera probe, report reminders and campaign
// sending. wg counts them, so a stopping server waits for them.
func RunOps(ctx context.Context, o *Ops, wg *sync.WaitGroup) {
	if o == nil {
		return
	}
	wg.Go(func() { o.Dashboard.Run(ctx, 5*time.Second) })
	wg.Go(func() { o.Cameras.Run(ctx, 30*time.Second) })
	wg.Go(func() { o.Reports.Run(ctx, 15*time.Minute) })
	wg.Go(func() { o.Campaigns.Run(ctx, 10*time.Second) })
}
