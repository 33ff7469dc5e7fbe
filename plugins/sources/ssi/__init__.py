"""SSI FastConnect data source (Vietnam): historical REST and live SignalR stream."""
