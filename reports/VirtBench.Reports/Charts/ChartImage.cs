namespace VirtBench.Reports.Charts;

/// <summary>A rendered chart: its PNG bytes, pixel size, file name in the report folder, title and caption.</summary>
public sealed record ChartImage(string FileName, string Title, string Caption, byte[] Png, int Width, int Height);
