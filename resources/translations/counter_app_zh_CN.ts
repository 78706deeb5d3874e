<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="zh_CN">
<context>
    <name>CardController</name>
    <message>
        <source>卡片已拔出或无应答，请重新插卡。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡器通讯失败。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>系统错误（%1），详见运行日志。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>没有与设置中的名称匹配的读卡器，请检查连线或设置。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>未找到读卡器</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>未找到读卡器，请检查读卡器连线或设置。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>智能卡服务已停止，正在重新连接…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>智能卡服务停止</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正在重新连接</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>已连接</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>请插入社会保障卡</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>未连接</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡器未连接，请检查读卡器连线。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>未插卡</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡器未连接</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正常</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>终端机编号 %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>无法使用</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>业务办理中：卡片由办理向导读写，办结后自动读卡</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡器中没有卡，请插入社会保障卡</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CardPanel</name>
    <message>
        <source>卡片信息</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>请插入社会保障卡</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡状态</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>姓名</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>社会保障号码</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>卡号</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>有效期</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>卡片规范</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>卡状态</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>密码</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>代管代持提示</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡 (Shift+F1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正在读卡，请勿拔卡…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 读卡失败：%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>空白预制卡（未个人化）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>已读卡</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>（姓名编码异常）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>未读取（%1）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>空白</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>（已过期）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 版</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>登录后查询</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>卡片未提供剩余次数</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 已锁定（需办理密码重置或解锁）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>剩余 %1 次</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正在查询…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>（本地数据，截至 %1）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>⚠ 代管代持：%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>未能查询：%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>屏幕已锁定，卡片信息已隐藏</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CustomerWindow</name>
    <message>
        <source>客户操作（培训）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>扮演办事群众：把测试卡插入读卡器、拔出或换一张卡。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>测试卡(&amp;L)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>测试卡列表</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡器中：无卡</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>插卡(&amp;I)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>换卡(&amp;S)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>拔卡(&amp;R)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>断开读卡器(&amp;D)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>连接读卡器(&amp;D)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡器中：%1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DeviceStatusBar</name>
    <message>
        <source>读卡器</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PSAM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>密码键盘</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>打印机</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>服务器</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>检测中</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>乐山市社会保障卡柜面业务系统</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>培训模式 — 演练数据，所办业务均无效，打印件为培训样张</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>培训模式</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>网点：未登录</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>操作员：未登录</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>当前操作员</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>登录</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>锁定</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>退出登录</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>业务事项</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>业务事项列表</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>F1–F12 选择业务，Enter 开始</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>请先登录</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>登录后在左侧选择业务事项。插入社会保障卡后，卡片信息显示在右侧。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>请选择左侧的业务事项</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>办事指南</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>打印办事指南</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>开始办理</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>业务(&amp;B)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>卡片(&amp;C)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>系统(&amp;S)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>培训(&amp;T)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shift+F1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>打印</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shift+F2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>登录…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+L</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>锁定屏幕</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+Shift+L</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>设置与设备…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>大字体（适老化）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+=</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>退出程序</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+Q</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>客户操作（插卡/拔卡）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>客户密码键盘</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>重置培训数据…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>未配置读卡器</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>未配置</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>打印办事指南 (Shift+F2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正式环境</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>（须联网）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>此工号不办理柜面业务（系统管理员请使用 系统 → 设置与设备）。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>柜台 %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>操作员：%1 %2（%3）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · 离线登录</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>后台</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 · 柜台 %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>请选择业务事项</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>屏幕已锁定</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>请输入密码解锁，或切换操作员。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>启动中</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>在线</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>离线</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>（数据截至 %1）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>故障</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>没有可打印的内容：请先选择业务事项。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 未配置打印机。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正在打印“%1”…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>已发送到打印机（%1）。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 打印失败：%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>设备诊断不可用。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>本机不能运行培训密码键盘。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>重置培训数据</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>将培训数据恢复为初始状态，已演练的业务全部清除。继续吗？</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正在重置培训数据…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>培训数据已重置。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 重置失败：%1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PinPadWindow</name>
    <message>
        <source>客户密码键盘（培训）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>待机</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>键盘提示</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>已输入位数</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>更正</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>确认</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>取消</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>柜员发起密码输入后，在此按键。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>输入后按“确认”；按错可“更正”。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>已确认</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>已取消（客户）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>输入超时</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>柜员已取消</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>设置与设备</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>柜台设置</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>中心服务器地址(&amp;S)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>https://sbk.example.gov.cn/api</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>社保卡读卡器名称(&amp;C)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PSAM 读卡器名称(&amp;M)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>密码键盘串口(&amp;K)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>打印机(&amp;P)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>纸张类型(&amp;A)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>读卡器名称可填名称中的一段（如 “ACR39U ICC”）或通配符（如 “*SAM*”）；同时匹配多个读卡器时系统会提示。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>设备诊断</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>重新检测(&amp;R)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>设备诊断报告</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>培训模式：以下为演示设置，不会保存。正式柜台的设置由信息科配置（counter.toml）。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>网点 %1，柜台 %2。保存后重新启动程序生效。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A4 两联（受理表 + 回执）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>80 毫米小票</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正在检测设备…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 设备诊断失败：%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 未保存：%1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <source>工号登录</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>请输入工号和密码登录本柜台。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>工号(&amp;N)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>工号</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>密码(&amp;P)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>密码</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>登录提示</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>切换操作员</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>取消</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>登录</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>屏幕已锁定</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>请 %1 输入密码解锁，或切换操作员。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>解锁</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>复核/授权确认</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>此业务须由本网点另一位复核/授权人员登录确认。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>确认</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 请输入工号。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 请输入密码。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>正在登录，请稍候…（可按“取消”停止等待）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>已取消等待。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 只能由已登录的操作员解锁。</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 系统错误，登录未完成：%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>× 此工号已锁定，%1 后可再登录。</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WizardFrame</name>
    <message>
        <source>业务办理</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>上一步</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>取消办理（Esc）</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>补打</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>下一步（Enter）</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
