/* tui/alerts: --notify and --on-event of the front end (vggtop, vggtop watch): the events of the run shown
 * (finished, early stop, stopped or killed, failed, a non-finite loss, a stall), read from the snapshot the
 * screens draw from (the engine's for a run of this process, the follower's, made from the files, for a
 * watched one), as train's notify_observe names them for vggtop train. Each is said on the status line, and
 * once the frame is on the terminal (curses has flushed it) its notification bytes are written and the hook is
 * started: the bytes never land inside curses' output. A run shown afresh is watched from how it is then:
 * opening a finished run is not news. A sweep watched (the Sweep screen) tells its trials' ends and its own,
 * as vggtop sweep --notify does (sweep.c finds them, alerts_tell keeps them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui_internal.h"

int alerts_open(app *a, vt_err *err)
{
    tui_alerts *al = &a->alerts;
    memset(al, 0, sizeof *al);
    al->sink.term_fd = al->sink.close_fd = -1;
    al->on = a->opt.notify || (a->opt.on_event && a->opt.on_event[0]);
    if (!al->on)
        return VT_OK;
    return notify_sink_open(&al->sink, a->opt.notify, a->opt.on_event, a->opt.hook_timeout, err);
}

/* Whether the run shown is a trial of the sweep watched: its end is then the sweep's news (alerts_tell), and
 * told once. */
static int shown_is_trial(const app *a)
{
    size_t n = strlen(a->swp.dir);
    return n > 0 && strncmp(a->dir, a->swp.dir, n) == 0 && a->dir[n] == '/';
}

static int is_end(notify_kind k)
{
    return k == NOTIFY_FINISHED || k == NOTIFY_EARLY_STOP || k == NOTIFY_STOPPED || k == NOTIFY_FAILED;
}

int alerts_observe(app *a, double now)
{
    tui_alerts *al = &a->alerts;
    if (!al->on || (!a->dir[0] && !a->live))
        return 0;
    if (!al->begun || strcmp(al->dir, a->dir) != 0) {
        snprintf(al->dir, sizeof al->dir, "%s", a->dir);
        notify_watch_begin(&al->watch, a->snap, now);
        al->begun = 1;
        return 0;
    }
    int room = ALERTS_PENDING - al->n_pending;
    int got = room > 0 ? notify_observe(&al->watch, a->snap, now, al->pending + al->n_pending, room) : 0, n = 0;
    for (int i = 0; i < got; i++) {
        if (shown_is_trial(a) && is_end(al->pending[al->n_pending + i].kind))
            continue;
        int at = al->n_pending + n++;
        al->pending[at] = al->pending[al->n_pending + i];
        al->trial[at] = ALERTS_RUN_SHOWN;
        const notify_event *e = &al->pending[at];
        app_set_status(a, e->kind == NOTIFY_FINISHED ? ROLE_GOOD : ROLE_WARN, "%s: %s", notify_names[e->kind],
                       e->text);
    }
    al->n_pending += n;
    return n > 0;
}

void alerts_tell(app *a, const notify_event *e, int trial)
{
    tui_alerts *al = &a->alerts;
    if (!al->on || al->n_pending == ALERTS_PENDING)
        return;
    al->pending[al->n_pending] = *e;
    al->trial[al->n_pending++] = trial;
    app_set_status(a, e->kind == NOTIFY_FINISHED || e->kind == NOTIFY_SWEEP_END ? ROLE_GOOD : ROLE_WARN, "%s: %s",
                   notify_names[e->kind], e->text);
}

void alerts_flush(app *a)
{
    tui_alerts *al = &a->alerts;
    if (!al->on)
        return;
    fflush(stdout); /* whatever curses left buffered goes first */
    for (int i = 0; i < al->n_pending; i++) {
        vt_err err;
        /* A sweep's event gives the hook its trial's run (or the folder), not the run shown. */
        train_snapshot *s = al->trial[i] == ALERTS_RUN_SHOWN ? a->snap : sweep_event_snapshot(a->swp.dir, al->trial[i]);
        if (s && notify_sink_tell(&al->sink, &al->pending[i], s, &err) != VT_OK)
            app_set_status(a, ROLE_BAD, "%s", err.msg);
        if (s != a->snap)
            free(s);
    }
    al->n_pending = 0;
    if (notify_sink_poll(&al->sink))
        app_set_status(a, ROLE_WARN, "the --on-event command ran past its %g s limit and was killed",
                       al->sink.timeout);
}

void alerts_close(app *a)
{
    if (a->alerts.on)
        notify_sink_close(&a->alerts.sink);
    a->alerts.on = 0;
}
