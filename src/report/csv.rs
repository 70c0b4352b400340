//! The CSV timeline: every event with its finding markers, safe to open in a spreadsheet.

use super::Report;
use crate::model::format_time;
use crate::text::csv_field;

pub fn render(r: &Report) -> String {
    let mut out = String::from(
        "time,event_id,kind,actor,task,action,action_class,resource,destination,outcome,source,locator,drift_point,findings\n",
    );
    let drift: Vec<&str> = r
        .accountability
        .iter()
        .filter_map(|a| a["drift_event_id"].as_str())
        .collect();
    for e in &r.all_events {
        let findings = r
            .markers
            .get(&e.id)
            .map(|f| f.join(" "))
            .unwrap_or_default();
        let cells = [
            format_time(&e.time),
            e.id.clone(),
            e.kind.clone(),
            e.actor.clone(),
            e.task.clone().unwrap_or_default(),
            e.action.clone().unwrap_or_default(),
            e.action_class.clone().unwrap_or_default(),
            e.resource.clone().unwrap_or_default(),
            e.destination.clone().unwrap_or_default(),
            e.outcome.clone(),
            e.source.clone(),
            e.locator.clone(),
            if drift.contains(&e.id.as_str()) {
                "yes".to_owned()
            } else {
                String::new()
            },
            findings,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_field(c).into_owned()).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}
